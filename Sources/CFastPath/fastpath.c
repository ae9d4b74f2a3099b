// Byte-scanning kernels for the parse -> emit path, where Swift's SIMD types
// generate poor code. SSE2 is part of x86-64, so no run-time dispatch is needed.
#include "mds_fastpath.h"
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/// Copies k < 16 bytes with overlapping fixed-size moves: nothing outside
/// src[0..<k] or dst[0..<k] is touched, and no memcpy call is made.
static inline void copy_small(uint8_t *dst, const uint8_t *src, size_t k) {
    if (k >= 8) {
        uint64_t a, b;
        memcpy(&a, src, 8);
        memcpy(&b, src + k - 8, 8);
        memcpy(dst + k - 8, &b, 8);
        memcpy(dst, &a, 8);
    } else if (k >= 4) {
        uint32_t a, b;
        memcpy(&a, src, 4);
        memcpy(&b, src + k - 4, 4);
        memcpy(dst + k - 4, &b, 4);
        memcpy(dst, &a, 4);
    } else if (k > 0) {
        dst[0] = src[0];
        dst[k / 2] = src[k / 2];
        dst[k - 1] = src[k - 1];
    }
}

#if defined(__SSE2__)
/// The k < 16 bytes at src in a block padded with a harmless 'A'.
static inline __m128i load_partial(const uint8_t *src, size_t k) {
    uint8_t tail[16];
    memset(tail, 'A', 16);
    copy_small(tail, src, k);
    return _mm_loadu_si128((const __m128i *)tail);
}
#endif

/// The length of the longest prefix of `src[0..<n]` that needs no JSON escaping.
static size_t plain_prefix(const uint8_t *src, size_t n) {
    size_t i = 0;
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"');
    const __m128i slash = _mm_set1_epi8('\\');
    const __m128i bias = _mm_set1_epi8((char)0x80);
    const __m128i limit = _mm_set1_epi8((char)(0x20 ^ 0x80));  // signed compare of b < 0x20
    for (; i + 16 <= n; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(src + i));
        __m128i bad = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, slash)),
                                   _mm_cmplt_epi8(_mm_xor_si128(v, bias), limit));
        int mask = _mm_movemask_epi8(bad);
        if (mask) return i + (size_t)__builtin_ctz((unsigned)mask);
    }
    if (i < n) {
        // The short tail, copied into a block padded with a harmless byte.
        __m128i v = load_partial(src + i, n - i);
        __m128i bad = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, slash)),
                                   _mm_cmplt_epi8(_mm_xor_si128(v, bias), limit));
        int mask = _mm_movemask_epi8(bad);
        return mask ? i + (size_t)__builtin_ctz((unsigned)mask) : n;
    }
    return n;
#else
    for (; i < n; i++) {
        uint8_t b = src[i];
        if (b < 0x20 || b == '"' || b == '\\') return i;
    }
    return n;
#endif
}

size_t mds_json_string(uint8_t *dst, const uint8_t *src, size_t n) {
    uint8_t *out = dst;
    *out++ = '"';
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"');
    const __m128i slash = _mm_set1_epi8('\\');
    const __m128i bias = _mm_set1_epi8((char)0x80);
    const __m128i limit = _mm_set1_epi8((char)(0x20 ^ 0x80));
    size_t i = 0;
    // Check and copy 16 bytes at a time; a short tail goes through a padded block.
    while (i < n) {
        size_t k = n - i;
        __m128i v;
        if (k >= 16) {
            v = _mm_loadu_si128((const __m128i *)(src + i));
        } else {
            v = load_partial(src + i, k);
        }
        __m128i bad = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, slash)),
                                   _mm_cmplt_epi8(_mm_xor_si128(v, bias), limit));
        int mask = _mm_movemask_epi8(bad);
        if (mask == 0) {
            _mm_storeu_si128((__m128i *)out, v);
            size_t step = k < 16 ? k : 16;
            out += step;
            i += step;
            continue;
        }
        // Plain bytes before the first special one, then the rest escaped.
        size_t plain = (size_t)__builtin_ctz((unsigned)mask);
        _mm_storeu_si128((__m128i *)out, v);
        out += plain;
        out += mds_json_escape(out, src + i + plain, n - i - plain);
        break;
    }
#else
    out += mds_json_escape(out, src, n);
#endif
    *out++ = '"';
    return (size_t)(out - dst);
}

size_t mds_json_plain(uint8_t *dst, const uint8_t *src, size_t n, int colon) {
    uint8_t *out = dst;
    *out++ = '"';
    // The short literals this serves need no memcpy call.
    if (n >= 16) memcpy(out, src, n); else copy_small(out, src, n);
    out += n;
    *out++ = '"';
    if (colon) *out++ = ':';
    return (size_t)(out - dst);
}

size_t mds_json_escape(uint8_t *dst, const uint8_t *src, size_t n) {
    static const char hex[] = "0123456789abcdef";
    uint8_t *out = dst;
    size_t i = 0;
    while (i < n) {
        size_t run = plain_prefix(src + i, n - i);
        memcpy(out, src + i, run);
        out += run;
        i += run;
        if (i == n) break;
        uint8_t b = src[i++];
        *out++ = '\\';
        switch (b) {
        case '"': *out++ = '"'; break;
        case '\\': *out++ = '\\'; break;
        case '\n': *out++ = 'n'; break;
        case '\r': *out++ = 'r'; break;
        case '\t': *out++ = 't'; break;
        case '\b': *out++ = 'b'; break;
        case '\f': *out++ = 'f'; break;
        default:
            *out++ = 'u'; *out++ = '0'; *out++ = '0';
            *out++ = (uint8_t)hex[b >> 4];
            *out++ = (uint8_t)hex[b & 15];
        }
    }
    return (size_t)(out - dst);
}

size_t mds_ascii_prefix(const uint8_t *src, size_t n) {
    size_t i = 0;
#if defined(__SSE2__)
    for (; i + 16 <= n; i += 16) {
        int mask = _mm_movemask_epi8(_mm_loadu_si128((const __m128i *)(src + i)));
        if (mask) return i + (size_t)__builtin_ctz((unsigned)mask);
    }
#endif
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, src + i, 8);
        if (w & 0x8080808080808080ULL) break;
    }
    for (; i < n; i++) {
        if (src[i] & 0x80) return i;
    }
    return n;
}

ptrdiff_t mds_find(const uint8_t *hay, size_t n, const uint8_t *needle, size_t m) {
    // Needles here are short words in short lines: first byte, then compare.
    if (m == 0) return 0;
    const uint8_t *p = hay, *end = hay + n;
    while ((size_t)(end - p) >= m) {
        p = memchr(p, needle[0], (size_t)(end - p) - m + 1);
        if (!p) return -1;
        if (memcmp(p, needle, m) == 0) return p - hay;
        p++;
    }
    return -1;
}

size_t mds_json_member(uint8_t *dst, int comma, const uint8_t *key, size_t klen, int key_plain,
                       const uint8_t *val, size_t vlen) {
    uint8_t *out = dst;
    if (comma) *out++ = ',';
    if (key_plain) {
        out += mds_json_plain(out, key, klen, 1);
    } else {
        out += mds_json_string(out, key, klen);
        *out++ = ':';
    }
    out += mds_json_string(out, val, vlen);
    return (size_t)(out - dst);
}

size_t mds_json_fields_bound(const mds_field *f, size_t n) {
    size_t total = 0;
    for (size_t i = 0; i < n; i++) total += 6 * ((size_t)f[i].key_b + f[i].b) + 48;  // includes closing braces
    return total;
}

static size_t json_int(uint8_t *dst, int64_t v) {
    uint8_t tmp[20];
    uint64_t m = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;  // magnitude, INT64_MIN safe
    size_t k = 0;
    do { tmp[k++] = (uint8_t)('0' + m % 10); m /= 10; } while (m);
    uint8_t *out = dst;
    if (v < 0) *out++ = '-';
    while (k) *out++ = tmp[--k];
    return (size_t)(out - dst);
}

size_t mds_json_fields(uint8_t *dst, const mds_field *f, size_t n, const uint8_t *bytes, int comma) {
    uint8_t *out = dst;
    size_t depth = 0;  // unbalanced lists still give valid JSON: stray ends are skipped, open objects closed
    for (size_t i = 0; i < n; i++) {
        const mds_field *x = &f[i];
        if (x->kind == 5) {  // object end
            if (depth == 0) continue;
            depth--;
            *out++ = '}';
            comma = 1;
            continue;
        }
        if (comma) *out++ = ',';
        if (x->key_ptr) {
            out += mds_json_plain(out, x->key_ptr, x->key_b, 1);
        } else {
            out += mds_json_string(out, bytes + x->key_a, x->key_b);
            *out++ = ':';
        }
        comma = 1;
        switch (x->kind) {
        case 0: out += mds_json_string(out, bytes + x->a, x->b); break;
        case 1: out += mds_json_plain(out, x->val_ptr, x->b, 0); break;
        case 2: out += json_int(out, x->number); break;
        case 3:
            if (x->number) { memcpy(out, "true", 4); out += 4; } else { memcpy(out, "false", 5); out += 5; }
            break;
        case 4: *out++ = '{'; comma = 0; depth++; break;
        }
    }
    while (depth--) *out++ = '}';
    return (size_t)(out - dst);
}
