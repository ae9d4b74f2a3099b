// Byte-scanning kernels for the parse -> emit path, where Swift's SIMD types
// generate poor code. SSE2 is part of x86-64, so no run-time dispatch is needed.
#include "mds_fastpath.h"
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

size_t mds_json_plain_prefix(const uint8_t *src, size_t n) {
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
        uint8_t tail[16];
        memset(tail, 'A', 16);
        memcpy(tail, src + i, n - i);
        __m128i v = _mm_loadu_si128((const __m128i *)tail);
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

size_t mds_json_escape(uint8_t *dst, const uint8_t *src, size_t n) {
    static const char hex[] = "0123456789abcdef";
    uint8_t *out = dst;
    size_t i = 0;
    while (i < n) {
        size_t run = mds_json_plain_prefix(src + i, n - i);
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
