#ifndef MOZDEF_SHIP_FASTPATH_H
#define MOZDEF_SHIP_FASTPATH_H
#include <stddef.h>
#include <stdint.h>

/// Writes `src[0..<n]` JSON-escaped (RFC 8259: '"', '\\' and bytes < 0x20), without
/// quotes, to `dst`, which must have room for 6 * n bytes. Returns the bytes written.
size_t mds_json_escape(uint8_t *dst, const uint8_t *src, size_t n);

/// Writes `src[0..<n]` as a quoted JSON string to `dst`, which must have room for
/// 6 * n + 18 bytes (whole 16-byte blocks are stored). Returns the bytes written.
size_t mds_json_string(uint8_t *dst, const uint8_t *src, size_t n);

/// The length of the longest prefix of `src[0..<n]` that needs no JSON escaping.
size_t mds_json_plain_prefix(const uint8_t *src, size_t n);

/// Writes `src[0..<n]` as a quoted JSON string to `dst`, which must have room for
/// 6 * n + 18 bytes (whole 16-byte blocks are stored). Returns the bytes written.
size_t mds_json_string(uint8_t *dst, const uint8_t *src, size_t n);

/// The length of the longest prefix of `src[0..<n]` that is ASCII.
size_t mds_ascii_prefix(const uint8_t *src, size_t n);
#endif
