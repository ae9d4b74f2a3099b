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

/// Writes `"` + src[0..<n] + `"` (+ `:` when `colon`) without escaping: for literals
/// known to be plain. `dst` needs n + 3 bytes. Returns the bytes written.
size_t mds_json_plain(uint8_t *dst, const uint8_t *src, size_t n, int colon);

/// Writes one object member `,"key":"value"` (no comma when `comma` is 0): a plain
/// (literal) key is copied, any other key and the value are escaped. `dst` needs
/// 6 * (klen + vlen) + 24 bytes. Returns the bytes written.
size_t mds_json_member(uint8_t *dst, int comma, const uint8_t *key, size_t klen, int key_plain,
                       const uint8_t *val, size_t vlen);

/// Writes `src[0..<n]` as a quoted JSON string to `dst`, which must have room for
/// 6 * n + 18 bytes (whole 16-byte blocks are stored). Returns the bytes written.
size_t mds_json_string(uint8_t *dst, const uint8_t *src, size_t n);

/// The length of the longest prefix of `src[0..<n]` that is ASCII.
size_t mds_ascii_prefix(const uint8_t *src, size_t n);
/// Offset of the first `needle[0..<m]` in `hay[0..<n]`, or -1.
ptrdiff_t mds_find(const uint8_t *hay, size_t n, const uint8_t *needle, size_t m);
/// One detail of an event in compact form (Swift's DetailField wraps it).
/// kind: 0 slice, 1 literal, 2 int, 3 bool, 4 object start, 5 object end.
/// The key is `key_ptr[0..<key_b]` when key_ptr is set, else `bytes[key_a..<key_a+key_b]`;
/// a slice value is `bytes[a..<a+b]`, a literal value `val_ptr[0..<b]`.
typedef struct {
    const uint8_t *key_ptr;
    const uint8_t *val_ptr;
    int64_t number;
    uint32_t key_a, key_b, a, b;
    uint8_t kind;
} mds_field;

/// An upper bound of the bytes mds_json_fields writes for these fields.
size_t mds_json_fields_bound(const mds_field *f, size_t n);

/// Writes the members of a details object (without its braces) from `f[0..<n]`,
/// with `comma` if the object already has members. Literal keys and values are
/// copied; slices of `bytes` are escaped. Returns the bytes written.
size_t mds_json_fields(uint8_t *dst, const mds_field *f, size_t n, const uint8_t *bytes, int comma);
#endif
