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
/// kind: 0 slice, 1 literal, 2 int, 3 bool, 4 object start, 5 object end,
/// 6 raw JSON text (`val_ptr[0..<b]` when val_ptr is set, else `bytes[a..<a+b]`), copied verbatim.
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

/// JSON scanning (RFC 8259) over bytes already known to be valid UTF-8.
/// The end of a string whose body starts at p[0] (just after the opening quote): the
/// index of the closing quote, or -1 (unterminated, a control character, a bad escape).
/// `*escaped` is set when the body holds a backslash.
ptrdiff_t mds_json_string_end(const uint8_t *p, size_t n, int *escaped);
/// The end (exclusive) of the JSON value at p[i] (no leading space), validated, nested at
/// most `max_depth` deep, or -1.
ptrdiff_t mds_json_value_end(const uint8_t *p, size_t n, size_t i, int max_depth);
/// Copies the valid JSON value src[0..<n] compactly (insignificant space removed).
/// dst needs n bytes. Returns the bytes written.
size_t mds_json_copy_compact(uint8_t *dst, const uint8_t *src, size_t n);

/// Splits a stream of JSON text into records without holding whole documents:
/// a top-level object is one record, unless it has a "Records" array (CloudTrail),
/// whose elements are the records; a top-level array's elements are records too.
typedef struct {
    int depth;          /* nesting depth */
    int in_string;
    int escape;         /* the previous byte in a string was a backslash */
    int expect_key;     /* depth 1 object: the next string is a key */
    int key_pos;        /* bytes of the current depth-1 key matched against "Records" (-1: no match) */
    int records_key;    /* the last depth-1 key was "Records" */
    int after_colon;    /* the Records key's colon was seen */
    int element_depth;  /* depth of the array whose elements are records (0: none) */
    int capturing;
} mds_splitter;

enum { MDS_SPLIT_MORE = 0, MDS_SPLIT_START = 1, MDS_SPLIT_END = 2, MDS_SPLIT_CANCEL = 3, MDS_SPLIT_ERROR = -1 };

/// Advances over src[*pos..<n]. Returns MORE at the end of the input (if capturing, the
/// bytes from the capture start belong to the record), START when a record begins at
/// *pos - 1, END when it ends at *pos (exclusive), CANCEL when the object being captured
/// turned out to hold a "Records" array (drop what was captured), ERROR on bytes that
/// cannot start a JSON value where one is expected.
int mds_split(mds_splitter *s, const uint8_t *src, size_t n, size_t *pos);

#define MDS_CEF_SHORT_HEADER (-0x7FFFFFFFL)
#define MDS_CEF_LABEL_PAIR 1u
#define MDS_CEF_SKIP 2u
#define MDS_CEF_LABELLED 4u

/// Parses one CEF record p[0..<n] whose "CEF:" is at p[start]. Offsets are reported in
/// the coordinates of a buffer that holds p at 0 and then, from `base` (>= n), the text
/// written to `unesc` (room for 2 * n bytes; *unesc_len gets its length): unescaped header
/// fields and values, and lowercased label names.
/// header[0..<14]: start and end of the 7 header fields; header[14]: how many were found.
/// Extension: a value runs to the next " key=" (key bytes [A-Za-z0-9_.[],-], '=' not
/// escaped), trailing spaces trimmed. 5 values per pair: key start, key end, value start,
/// value end, flags (MDS_CEF_LABEL_PAIR: an "xLabel" key; MDS_CEF_SKIP: a label whose x
/// is present; MDS_CEF_LABELLED: the key range is x's lowercased label).
/// Returns the number of pairs; max_pairs + 1 when out needs more room (call again);
/// -1 - offset when the extension does not start with key=; MDS_CEF_SHORT_HEADER.
long mds_cef_record(const uint8_t *p, size_t n, size_t start, size_t base, uint32_t *header,
                    uint32_t *out, size_t max_pairs, uint8_t *unesc, size_t *unesc_len);

/// The end (exclusive) of the JSON value at p[i] in text already known to be valid JSON
/// (no checks: brackets and strings are only matched).
size_t mds_json_skip(const uint8_t *p, size_t n, size_t i);

/// One object member located in place (offsets into the input).
typedef struct {
    size_t key_start, key_end;      /* the key's body */
    int key_escaped;
    size_t value_start, value_end;  /* a string's body; a literal's or number's token; a container's first byte */
    int value_escaped;
    size_t next;                    /* after the value (not set for a container) */
    size_t at;                      /* where an error was found */
} mds_json_span;

enum { MDS_MEMBER_ERROR = 0, MDS_MEMBER_STRING = 1, MDS_MEMBER_LITERAL = 2, MDS_MEMBER_CONTAINER = 3 };

/// Parses `"key": value-start` at p[i] (space allowed before each token), validating
/// strings, numbers and literals; a container is left to the caller.
int mds_json_member_head(const uint8_t *p, size_t n, size_t i, mds_json_span *m);

/// After a member's value at p[*i]: 1 on ',' (*i moves to the next member), 0 on '}'
/// (*i after it), -1 on anything else.
int mds_json_member_tail(const uint8_t *p, size_t n, size_t *i);

/// A value to find while copying: the object member at the path seg[0] . seg[1] ...
/// (lowercased keys, without escapes). start/end get the value's token in dst (strings
/// with their quotes), the first occurrence, or -1 when absent. Not inside arrays.
typedef struct {
    const uint8_t *seg[4];
    size_t seglen[4];
    int nseg;
    ptrdiff_t start, end;
} mds_json_capture;

/// Validates the JSON value at src[i] (nested at most max_depth deep) and copies it compactly
/// to dst with every object key's ASCII letters lowercased, in one pass. dst needs n - i
/// bytes. Returns the end (exclusive) of the value in src, or -1; *written is set to the
/// bytes written. The ncaps (<= 32) captures are located on the way.
ptrdiff_t mds_json_lower_copy_value(uint8_t *dst, const uint8_t *src, size_t n, size_t i, int max_depth, size_t *written,
                                    mds_json_capture *caps, int ncaps);

/// MozDef's raw_value wrapping of compact valid JSON src[0..<n]:
/// {"raw_value":"<Python's json.dumps text: ", " and ": " separators, non-ASCII as \uXXXX;
/// escaped as a JSON string>"}. dst needs 14 * n + 32
/// bytes. Returns the bytes written.
size_t mds_raw_value(uint8_t *dst, const uint8_t *src, size_t n);
#endif
