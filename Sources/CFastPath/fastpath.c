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
        case 6:  // raw JSON text, already valid: copied as is
            if (x->val_ptr) memcpy(out, x->val_ptr, x->b); else memcpy(out, bytes + x->a, x->b);
            out += x->b;
            break;
        }
    }
    while (depth--) *out++ = '}';
    return (size_t)(out - dst);
}

/* ---- JSON scanning ---- */

static int is_hex(uint8_t c) { return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f'); }

ptrdiff_t mds_json_string_end(const uint8_t *p, size_t n, int *escaped) {
    size_t i = 0;
    for (;;) {
#ifdef __SSE2__
        /* Skip 16 bytes at a time while none is '"', '\\' or a control character. */
        while (i + 16 <= n) {
            __m128i v = _mm_loadu_si128((const __m128i *)(p + i));
            __m128i q = _mm_cmpeq_epi8(v, _mm_set1_epi8('"'));
            __m128i b = _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'));
            __m128i c = _mm_cmplt_epi8(_mm_xor_si128(v, _mm_set1_epi8((char)0x80)), _mm_set1_epi8((char)(0x20 ^ 0x80)));
            int m = _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(q, b), c));
            if (m) { i += (size_t)__builtin_ctz((unsigned)m); break; }
            i += 16;
        }
#endif
        while (i < n && p[i] != '"' && p[i] != '\\' && p[i] >= 0x20) i++;
        if (i >= n || p[i] < 0x20) return -1;
        if (p[i] == '"') return (ptrdiff_t)i;
        /* backslash */
        *escaped = 1;
        if (i + 1 >= n) return -1;
        switch (p[i + 1]) {
        case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't': i += 2; break;
        case 'u':
            if (i + 6 > n || !is_hex(p[i + 2]) || !is_hex(p[i + 3]) || !is_hex(p[i + 4]) || !is_hex(p[i + 5])) return -1;
            i += 6;
            break;
        default: return -1;
        }
    }
}

static size_t json_space(const uint8_t *p, size_t n, size_t i) {
    while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r')) i++;
    return i;
}

static ptrdiff_t json_number_end(const uint8_t *p, size_t n, size_t i) {
    size_t s = i;
    if (i < n && p[i] == '-') i++;
    if (i >= n) return -1;
    if (p[i] == '0') i++;
    else if (p[i] >= '1' && p[i] <= '9') { while (i < n && p[i] >= '0' && p[i] <= '9') i++; }
    else return -1;
    if (i < n && p[i] == '.') {
        i++;
        if (i >= n || p[i] < '0' || p[i] > '9') return -1;
        while (i < n && p[i] >= '0' && p[i] <= '9') i++;
    }
    if (i < n && (p[i] == 'e' || p[i] == 'E')) {
        i++;
        if (i < n && (p[i] == '+' || p[i] == '-')) i++;
        if (i >= n || p[i] < '0' || p[i] > '9') return -1;
        while (i < n && p[i] >= '0' && p[i] <= '9') i++;
    }
    (void)s;
    return (ptrdiff_t)i;
}


static size_t json_copy(uint8_t *dst, const uint8_t *src, size_t n) {
    /* src is valid JSON: copy it without the whitespace between tokens. */
    uint8_t *out = dst;
    size_t i = 0;
    while (i < n) {
        uint8_t c = src[i];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') { i++; continue; }
        if (c == '"') {
            int esc = 0;
            ptrdiff_t e = mds_json_string_end(src + i + 1, n - i - 1, &esc);
            size_t len = e < 0 ? n - i : (size_t)e + 2;
            memcpy(out, src + i, len);
            out += len; i += len;
            continue;
        }
        *out++ = c; i++;
    }
    return (size_t)(out - dst);
}

/* ---- Streaming record splitter ---- */

/* Bytes of numbers and of true/false/null. */
static const uint8_t json_literal_byte[256] = {
    ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1,
    ['-'] = 1, ['+'] = 1, ['.'] = 1, ['e'] = 1, ['E'] = 1,
    ['t'] = 1, ['r'] = 1, ['u'] = 1, ['f'] = 1, ['a'] = 1, ['l'] = 1, ['s'] = 1, ['n'] = 1,
};

/* Bytes that may stand outside strings besides brackets, quotes, ':' and ',': those of
   numbers and literals, and white space. */
static const uint8_t json_value_byte[256] = {
    ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1,
    ['-'] = 1, ['+'] = 1, ['.'] = 1, ['e'] = 1, ['E'] = 1,
    ['t'] = 1, ['r'] = 1, ['u'] = 1, ['f'] = 1, ['a'] = 1, ['l'] = 1, ['s'] = 1, ['n'] = 1,
    [' '] = 1, ['\t'] = 1, ['\n'] = 1, ['\r'] = 1,
};

#if defined(__SSE2__)
/* Brackets are few per block: a loop per set bit beats the generic popcount (x86-64
   without POPCNT). */
static inline int bit_count(uint64_t m) {
    int k = 0;
    for (; m; m &= m - 1) k++;
    return k;
}

/* Inside a record, deeper than anything the state machine below must see (depth-1 keys,
   record boundaries), only strings and brackets matter: 64-byte blocks are taken whole,
   with bit masks. A block stops this (and goes byte by byte) when it holds a backslash,
   when enough closing brackets to end the record, or a byte no JSON value has there.
   Returns the bytes taken, a multiple of 64. */
static size_t split_blocks(mds_splitter *s, const uint8_t *src, size_t n, size_t i, int floor) {
    size_t start = i;
    uint64_t carry = s->in_string ? ~0ULL : 0;  /* all ones while a string is open */
    int depth = s->depth;
    const __m128i quote = _mm_set1_epi8('"'), slash = _mm_set1_epi8('\\'), lower = _mm_set1_epi8(0x20);
    const __m128i open = _mm_set1_epi8('{'), close = _mm_set1_epi8('}');  /* '[' and ']' | 0x20 */
    const __m128i colon = _mm_set1_epi8(':'), comma = _mm_set1_epi8(',');
    while (i + 64 <= n) {
        uint64_t q = 0, bs = 0, op = 0, cl = 0, sep = 0;
        for (int k = 0; k < 4; k++) {
            __m128i v = _mm_loadu_si128((const __m128i *)(src + i + 16 * k));
            __m128i v20 = _mm_or_si128(v, lower);
            int sh = 16 * k;
            q |= (uint64_t)(uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, quote)) << sh;
            bs |= (uint64_t)(uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, slash)) << sh;
            op |= (uint64_t)(uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v20, open)) << sh;
            cl |= (uint64_t)(uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v20, close)) << sh;
            sep |= (uint64_t)(uint32_t)_mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, colon), _mm_cmpeq_epi8(v, comma))) << sh;
        }
        if (bs) break;
        /* Bit j of x: an odd number of quotes at or before j, i.e. inside a string (the
           opening quote counts as inside, the closing one does not). */
        uint64_t x = q;
        x ^= x << 1; x ^= x << 2; x ^= x << 4; x ^= x << 8; x ^= x << 16; x ^= x << 32;
        x ^= carry;
        uint64_t outside = ~(x | q);
        uint64_t o = op & outside, c = cl & outside;
        int closes = bit_count(c);
        if (depth - closes <= floor) break;
        uint64_t other = outside & ~(o | c | sep);
        for (uint64_t m = other; m; m &= m - 1)
            if (!json_value_byte[src[i + (size_t)__builtin_ctzll(m)]]) goto done;
        depth += bit_count(o) - closes;
        carry = (uint64_t)0 - (x >> 63);
        i += 64;
    }
done:
    if (i != start) {
        s->depth = depth;
        s->in_string = carry != 0;
        if (s->in_string) s->key_pos = -1;
    }
    return i - start;
}
#endif

int mds_split(mds_splitter *s, const uint8_t *src, size_t n, size_t *pos) {
    static const char records[] = "Records";
    size_t i = *pos;
#if defined(__SSE2__)
    size_t bytewise_until = i;  /* a block the fast path refused goes byte by byte */
#endif
    while (i < n) {
#if defined(__SSE2__)
        if (i >= bytewise_until && s->capturing && !s->escape && i + 64 <= n) {
            int floor = s->element_depth > 1 ? s->element_depth : 1;
            if (s->depth > floor) {
                size_t took = split_blocks(s, src, n, i, floor);
                i += took;
                bytewise_until = i + 64;
                if (i >= n) break;
            }
        }
#endif
        if (s->in_string) {
            /* Fast skip to the next quote or backslash. */
            if (s->escape) { s->escape = 0; i++; continue; }
#ifdef __SSE2__
            while (i + 16 <= n) {
                __m128i v = _mm_loadu_si128((const __m128i *)(src + i));
                int m = _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))));
                if (m) {
                    /* key matching needs every byte of depth-1 keys: only skip when not matching */
                    if (s->key_pos >= 0 && s->depth == 1) break;
                    i += (size_t)__builtin_ctz((unsigned)m);
                    break;
                }
                if (s->key_pos >= 0 && s->depth == 1) break;
                i += 16;
            }
#endif
            if (i >= n) break;
            uint8_t c = src[i++];
            if (c == '\\') { s->escape = 1; if (s->key_pos >= 0) s->key_pos = -1; continue; }
            if (c == '"') {
                s->in_string = 0;
                if (s->depth == 1 && s->key_pos >= 0) {
                    s->records_key = (s->key_pos == 7);
                    s->key_pos = -1;
                }
                continue;
            }
            if (s->depth == 1 && s->key_pos >= 0) {
                if (s->key_pos < 7 && c == (uint8_t)records[s->key_pos]) s->key_pos++; else s->key_pos = -1;
            }
            continue;
        }
        uint8_t c = src[i++];
        switch (c) {
        case ' ': case '\t': case '\n': case '\r':
            break;
        case '"':
            s->in_string = 1;
            if (s->depth == 1 && s->expect_key) { s->key_pos = 0; s->expect_key = 0; s->records_key = 0; }
            else s->key_pos = -1;
            /* a string where a record should start */
            if (s->element_depth && s->depth == s->element_depth && !s->capturing) { *pos = i; return MDS_SPLIT_ERROR; }
            break;
        case ':':
            if (s->depth == 1) s->after_colon = s->records_key;
            break;
        case ',':
            if (s->depth == 1) { s->expect_key = 1; s->records_key = 0; s->after_colon = 0; }
            break;
        case '{': case '[':
            if (s->depth == 0) {
                s->depth = 1;
                s->records_key = 0; s->after_colon = 0;
                if (c == '{') {
                    s->expect_key = 1;
                    s->element_depth = 0;
                    s->capturing = 1;
                    *pos = i;
                    return MDS_SPLIT_START;
                }
                s->expect_key = 0;
                s->element_depth = 1;  /* a top-level array: its elements are records */
                break;
            }
            if (s->depth == 1 && c == '[' && s->after_colon && s->records_key) {
                /* {"Records":[ ... ]}: elements become the records, the document is not one. */
                s->depth = 2;
                s->element_depth = 2;
                s->after_colon = 0;
                s->records_key = 0;
                if (s->capturing) { s->capturing = 0; *pos = i; return MDS_SPLIT_CANCEL; }
                break;
            }
            if (s->element_depth && s->depth == s->element_depth && !s->capturing) {
                s->depth++;
                s->capturing = 1;
                *pos = i;
                return MDS_SPLIT_START;
            }
            s->depth++;
            if (s->depth == 1) s->expect_key = (c == '{');
            break;
        case '}': case ']':
            if (s->depth == 0) { *pos = i; return MDS_SPLIT_ERROR; }
            s->depth--;
            if (s->capturing && ((s->element_depth && s->depth == s->element_depth) || (!s->element_depth && s->depth == 0))) {
                s->capturing = 0;
                if (s->depth == 0) s->element_depth = 0;
                *pos = i;
                return MDS_SPLIT_END;
            }
            if (s->element_depth && s->depth < s->element_depth) s->element_depth = 0;
            if (s->depth == 1) s->expect_key = 0;
            break;
        default:
            if (s->depth == 0) { *pos = i; return MDS_SPLIT_ERROR; }
            /* a primitive value (number, true, false, null): anything else is not JSON, so a
               stray '{' does not swallow the lines after it */
            if (!json_literal_byte[c]) { *pos = i; return MDS_SPLIT_ERROR; }
            if (s->element_depth && s->depth == s->element_depth && !s->capturing) { *pos = i; return MDS_SPLIT_ERROR; }
            break;
        }
    }
    *pos = i;
    return MDS_SPLIT_MORE;
}

size_t mds_json_copy_compact(uint8_t *dst, const uint8_t *src, size_t n) { return json_copy(dst, src, n); }

/* ---- CEF extension splitting ---- */

static const uint8_t cef_key_byte[256] = {
    ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1,
    ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1, ['H'] = 1, ['I'] = 1, ['J'] = 1,
    ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1,
    ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1, ['Y'] = 1, ['Z'] = 1,
    ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1,
    ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1,
    ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1,
    ['_'] = 1, ['.'] = 1, ['['] = 1, [']'] = 1, [','] = 1, ['-'] = 1,
};

/* If a key-shaped word followed by '=' starts at p[i], the index of the '='; else 0. */
static size_t cef_key_end(const uint8_t *p, size_t n, size_t i) {
    size_t k = i;
    while (k < n && cef_key_byte[p[k]]) k++;
    return (k > i && k < n && p[k] == '=') ? k : 0;
}

/* The index of the first byte in p[i..<n] equal to a or b, or n. */
static inline size_t cef_scan2(const uint8_t *p, size_t i, size_t n, uint8_t a, uint8_t b) {
#if defined(__SSE2__)
    const __m128i va = _mm_set1_epi8((char)a), vb = _mm_set1_epi8((char)b);
    for (; i + 16 <= n; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(p + i));
        int mask = _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, va), _mm_cmpeq_epi8(v, vb)));
        if (mask) return i + (size_t)__builtin_ctz((unsigned)mask);
    }
#endif
    while (i < n && p[i] != a && p[i] != b) i++;
    return i;
}

/* The pairs of p[from..<n]; see mds_cef_record. o[4] is 1 when the value holds a backslash. */
static long cef_pairs(const uint8_t *p, size_t n, size_t from, uint32_t *out, size_t max_pairs) {
    size_t i = from;
    while (i < n && p[i] == ' ') i++;
    if (i >= n) return 0;
    size_t eq = cef_key_end(p, n, i);
    if (!eq) return -1 - (long)i;
    size_t ks = i, count = 0;
    for (;;) {
        size_t vs = eq + 1, j = vs;
        size_t next_ks = 0, next_eq = 0;
        int escaped = 0;
        for (;;) {
            j = cef_scan2(p, j, n, ' ', '\\');
            if (j >= n) { j = n; break; }
            if (p[j] == '\\') {
                /* the byte after a backslash is escaped: an escaped space does not end the value */
                escaped = 1;
                j += 2;
                continue;
            }
            if (j + 1 < n && p[j + 1] != ' ') {
                size_t e = cef_key_end(p, n, j + 1);
                if (e) { next_ks = j + 1; next_eq = e; break; }
            }
            j++;
        }
        size_t ve = j < n ? j : n;
        while (ve > vs && p[ve - 1] == ' ') ve--;
        if (count < max_pairs) {
            uint32_t *o = out + count * 5;
            o[0] = (uint32_t)ks; o[1] = (uint32_t)eq; o[2] = (uint32_t)vs; o[3] = (uint32_t)ve; o[4] = (uint32_t)escaped;
        }
        count++;
        if (!next_eq) break;
        ks = next_ks; eq = next_eq;
    }
    return count > max_pairs ? (long)max_pairs + 1 : (long)count;
}

static inline int cef_same(const uint8_t *a, const uint8_t *b, size_t n) {
    while (n >= 8) {
        uint64_t x, y;
        memcpy(&x, a, 8); memcpy(&y, b, 8);
        if (x != y) return 0;
        a += 8; b += 8; n -= 8;
    }
    while (n--) if (*a++ != *b++) return 0;
    return 1;
}

long mds_cef_record(const uint8_t *p, size_t n, size_t start, size_t base, uint32_t *header,
                    uint32_t *out, size_t max_pairs, uint8_t *unesc, size_t *unesc_len) {
    size_t u = 0, i = start + 4;
    /* Seven '|'-terminated header fields; "\|" and "\\" are escapes, other backslashes stay. */
    for (int f = 0; f < 7; f++) {
        size_t s = i;
        int escaped = 0;
        for (;;) {
            i = cef_scan2(p, i, n, '|', '\\');
            if (i >= n || p[i] == '|') break;
            escaped = 1;
            i += 2;
        }
        if (i >= n) { header[14] = (uint32_t)f; return MDS_CEF_SHORT_HEADER; }
        if (escaped) {
            size_t us = u;
            for (size_t k = s; k < i; k++) {
                if (p[k] == '\\' && k + 1 < i && (p[k + 1] == '|' || p[k + 1] == '\\')) k++;
                unesc[u++] = p[k];
            }
            header[f * 2] = (uint32_t)(base + us); header[f * 2 + 1] = (uint32_t)(base + u);
        } else {
            header[f * 2] = (uint32_t)s; header[f * 2 + 1] = (uint32_t)i;
        }
        i++;
    }
    header[14] = 7;
    long count = cef_pairs(p, n, i, out, max_pairs);
    if (count < 0 || (size_t)count > max_pairs) { *unesc_len = u; return count; }
    /* Values with escapes: "\=" "\\" → the character, "\n" "\r" → LF, CR; others kept. */
    for (long k = 0; k < count; k++) {
        uint32_t *o = out + k * 5;
        size_t vs = o[2], ve = o[3];
        int escaped = o[4] != 0;
        o[4] = 0;
        if (!escaped) continue;
        size_t us = u;
        for (size_t j = vs; j < ve; j++) {
            uint8_t c = p[j];
            if (c == '\\' && j + 1 < ve) {
                switch (p[j + 1]) {
                case '=': case '\\': c = p[j + 1]; j++; break;
                case 'n': c = '\n'; j++; break;
                case 'r': c = '\r'; j++; break;
                default: break;
                }
            }
            unesc[u++] = c;
        }
        o[2] = (uint32_t)(base + us); o[3] = (uint32_t)(base + u);
    }
    /* Labels: "xLabel=Name" names the value of "x". The label pair is left out when x is
       present; x then goes under the lowercased label (the last one, when repeated) unless
       the label is empty. A label pair is never itself relabelled. */
    for (long k = 0; k < count; k++) {
        uint32_t *o = out + k * 5;
        size_t kl = o[1] - o[0];
        if (kl <= 5 || p[o[1] - 1] != 'l' || !cef_same(p + o[1] - 5, (const uint8_t *)"Label", 5)) continue;
        o[4] |= MDS_CEF_LABEL_PAIR;
        for (long j = 0; j < count; j++) {
            uint32_t *b = out + j * 5;
            if (b[1] - b[0] != kl - 5 || !cef_same(p + b[0], p + o[0], kl - 5)) continue;
            o[4] |= MDS_CEF_SKIP;
            b[4] = (b[4] & 0xFF) | (uint32_t)(k + 1) << 8;
        }
    }
    for (long k = 0; k < count; k++) {
        uint32_t *o = out + k * 5;
        uint32_t li = o[4] >> 8;
        o[4] &= 0xFF;
        if (!li || (o[4] & MDS_CEF_LABEL_PAIR)) continue;
        const uint32_t *l = out + (li - 1) * 5;
        if (l[3] == l[2]) continue;
        /* the label's (unescaped) text, lowercased */
        const uint8_t *src = l[2] >= base ? unesc + (l[2] - base) : p + l[2];
        size_t len = l[3] - l[2], us = u;
        for (size_t j = 0; j < len; j++) {
            uint8_t c = src[j];
            unesc[u++] = (uint8_t)(c - 'A' < 26u ? c | 0x20 : c);
        }
        o[0] = (uint32_t)(base + us); o[1] = (uint32_t)(base + u);
        o[4] |= MDS_CEF_LABELLED;
    }
    *unesc_len = u;
    return count;
}

size_t mds_json_skip(const uint8_t *p, size_t n, size_t i) {
    int depth = 0;
    while (i < n) {
        uint8_t c = p[i];
        if (c == '"') {
            int esc = 0;
            ptrdiff_t e = mds_json_string_end(p + i + 1, n - i - 1, &esc);
            i = e < 0 ? n : i + 1 + (size_t)e + 1;
            if (depth == 0) return i;
            continue;
        }
        if (c == '{' || c == '[') { depth++; i++; continue; }
        if (c == '}' || c == ']') { depth--; i++; if (depth <= 0) return i; continue; }
        if (depth == 0) {
            /* a number or a literal: up to the next delimiter */
            while (i < n && p[i] != ',' && p[i] != '}' && p[i] != ']' && p[i] != ' ' && p[i] != '\n') i++;
            return i;
        }
        i++;
    }
    return n;
}

int mds_json_member_head(const uint8_t *p, size_t n, size_t i, mds_json_span *m) {
    int esc = 0;
    i = json_space(p, n, i);
    m->at = i;
    if (i >= n || p[i] != '"') return MDS_MEMBER_ERROR;
    ptrdiff_t e = mds_json_string_end(p + i + 1, n - i - 1, &esc);
    if (e < 0) return MDS_MEMBER_ERROR;
    m->key_start = i + 1;
    m->key_end = i + 1 + (size_t)e;
    m->key_escaped = esc;
    i = json_space(p, n, m->key_end + 1);
    m->at = i;
    if (i >= n || p[i] != ':') return MDS_MEMBER_ERROR;
    i = json_space(p, n, i + 1);
    m->at = i;
    if (i >= n) return MDS_MEMBER_ERROR;
    m->value_start = i;
    m->value_escaped = 0;
    uint8_t c = p[i];
    switch (c) {
    case '"':
        esc = 0;
        e = mds_json_string_end(p + i + 1, n - i - 1, &esc);
        if (e < 0) return MDS_MEMBER_ERROR;
        m->value_start = i + 1;
        m->value_end = i + 1 + (size_t)e;
        m->value_escaped = esc;
        m->next = m->value_end + 1;
        return MDS_MEMBER_STRING;
    case '{': case '[':
        return MDS_MEMBER_CONTAINER;
    case 't':
        if (i + 4 > n || memcmp(p + i, "true", 4)) return MDS_MEMBER_ERROR;
        m->value_end = m->next = i + 4;
        return MDS_MEMBER_LITERAL;
    case 'f':
        if (i + 5 > n || memcmp(p + i, "false", 5)) return MDS_MEMBER_ERROR;
        m->value_end = m->next = i + 5;
        return MDS_MEMBER_LITERAL;
    case 'n':
        if (i + 4 > n || memcmp(p + i, "null", 4)) return MDS_MEMBER_ERROR;
        m->value_end = m->next = i + 4;
        return MDS_MEMBER_LITERAL;
    default: {
        ptrdiff_t ne = json_number_end(p, n, i);
        if (ne < 0) return MDS_MEMBER_ERROR;
        m->value_end = m->next = (size_t)ne;
        return MDS_MEMBER_LITERAL;
    }
    }
}

int mds_json_member_tail(const uint8_t *p, size_t n, size_t *i) {
    size_t k = json_space(p, n, *i);
    if (k < n && p[k] == ',') { *i = json_space(p, n, k + 1); return 1; }
    if (k < n && p[k] == '}') { *i = k + 1; return 0; }
    *i = k;
    return -1;
}

/* The common string (no escapes, away from the end of the input) at src[i], copied to out
   16 bytes at a time, ASCII letters lowercased with `lower`: the length of its body, or
   -1 when the caller must take the general path. out may be written up to 16 bytes past
   the string's end, which json_walk's dst (as long as the input left) always has room for. */
static inline ptrdiff_t string_copy_plain(uint8_t *out, const uint8_t *src, size_t n, size_t i, int lower) {
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"'), slash = _mm_set1_epi8('\\');
    const __m128i bias = _mm_set1_epi8((char)0x80), limit = _mm_set1_epi8((char)(0x20 ^ 0x80));
    const __m128i a1 = _mm_set1_epi8('A' - 1), z1 = _mm_set1_epi8('Z' + 1), bit = _mm_set1_epi8(0x20);
    size_t j = i + 1;
    uint8_t *o = out + 1;
    out[0] = '"';
    while (j + 16 <= n) {
        __m128i v = _mm_loadu_si128((const __m128i *)(src + j));
        int m = _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, slash)),
                                               _mm_cmplt_epi8(_mm_xor_si128(v, bias), limit)));
        if (lower) v = _mm_or_si128(v, _mm_and_si128(_mm_and_si128(_mm_cmpgt_epi8(v, a1), _mm_cmplt_epi8(v, z1)), bit));
        _mm_storeu_si128((__m128i *)o, v);
        if (!m) { j += 16; o += 16; continue; }
        size_t k = (size_t)__builtin_ctz((unsigned)m);
        if (src[j + k] != '"') return -1;
        return (ptrdiff_t)(j + k - i - 1);
    }
#else
    (void)out; (void)src; (void)n; (void)i; (void)lower;
#endif
    return -1;
}

/* Walks (validates) the JSON value at src[i]; with dst, also copies it compactly with object
   keys lowercased. One walker serves both, so validation and copying cannot disagree. */
static ptrdiff_t json_walk(uint8_t *dst, const uint8_t *src, size_t n, size_t i, int max_depth, size_t *written,
                           mds_json_capture *caps, int ncaps) {
    char stack[256];
    /* Captures (only when copying): live[d] = the captures whose path led into the object at
       depth d; pend[d] = those whose value is the container at depth d; key_hit = those the
       last key matched, waiting for its value. */
    uint32_t live[257], pend[257], key_hit = 0;
    int depth = 0;
    uint8_t *out = dst;
    if (max_depth > 255) max_depth = 255;
    if (!dst || ncaps > 32) ncaps = 0;
    /* first[d]: bit (b & 63) for the first byte b of each capture's segment d, so most keys
       are turned away by one test */
    uint64_t first[4] = {0, 0, 0, 0};
    for (int c = 0; c < ncaps; c++) {
        caps[c].start = caps[c].end = -1;
        for (int d = 0; d < caps[c].nseg && d < 4; d++)
            if (caps[c].seglen[d]) first[d] |= (uint64_t)1 << (caps[c].seg[d][0] & 63);
    }
    live[0] = ncaps ? (uint32_t)(((uint64_t)1 << ncaps) - 1) : 0;
    int expect_value = 1;
    *written = 0;
#define EMIT(b) do { if (out) *out++ = (b); } while (0)
#define COPY_STRING(lower) do { \
        int esc_ = 0; \
        ptrdiff_t e_ = out ? string_copy_plain(out, src, n, i, lower) : -1; \
        if (e_ >= 0) { \
            e_key = e_; \
            out += (size_t)e_ + 2; \
            i += (size_t)e_ + 2; \
            break; \
        } \
        e_ = mds_json_string_end(src + i + 1, n - i - 1, &esc_); \
        if (e_ < 0) return -1; \
        size_t len_ = (size_t)e_ + 2; \
        e_key = e_; \
        if (!out) { \
        } else if (lower) { \
            for (size_t k_ = 0; k_ < len_; k_++) { \
                uint8_t b_ = src[i + k_]; \
                if (b_ == '\\') { out[k_] = b_; out[k_ + 1] = src[i + k_ + 1]; k_++; continue; } \
                out[k_] = (b_ >= 'A' && b_ <= 'Z') ? (uint8_t)(b_ | 0x20) : b_; \
            } \
        } else { \
            memcpy(out, src + i, len_); \
        } \
        if (out) out += len_; \
        i += len_; \
    } while (0)
    /* The key just copied (lowercased, at out - len_) against the live captures' segment. */
#define MATCH_KEY() do { \
        key_hit = 0; \
        if (live[depth] && e_key > 0 && depth <= 4 && \
            (first[depth - 1] >> (out[-(ptrdiff_t)e_key - 1] & 63) & 1)) { \
            const uint8_t *k_ = out - (size_t)e_key - 1; \
            size_t kl_ = (size_t)e_key; \
            for (uint32_t m_ = live[depth]; m_; m_ &= m_ - 1) { \
                int c_ = __builtin_ctz(m_); \
                const mds_json_capture *cp_ = &caps[c_]; \
                if (cp_->seglen[depth - 1] == kl_ && memcmp(k_, cp_->seg[depth - 1], kl_) == 0) key_hit |= 1u << c_; \
            } \
        } \
    } while (0)
    ptrdiff_t e_key = 0;
    for (;;) {
        i = json_space(src, n, i);
        if (i >= n) return -1;
        if (expect_value) {
            uint8_t c = src[i];
            /* captures whose path ends at this value, and those that go on inside it */
            uint32_t here = 0, deeper = depth == 0 ? live[0] : 0;
            if (key_hit) {
                for (uint32_t m_ = key_hit; m_; m_ &= m_ - 1) {
                    int c_ = __builtin_ctz(m_);
                    if (caps[c_].nseg == depth) { if (caps[c_].start < 0) { here |= 1u << c_; caps[c_].start = out - dst; } }
                    else deeper |= 1u << c_;
                }
                key_hit = 0;
            }
            if (c == '{' || c == '[') {
                if (depth >= max_depth) return -1;
                stack[depth++] = (char)c;
                live[depth] = c == '{' ? deeper : 0;
                pend[depth] = here;
                EMIT(c);
                i = json_space(src, n, i + 1);
                if (i >= n) return -1;
                if ((c == '{' && src[i] == '}') || (c == '[' && src[i] == ']')) {
                    EMIT(src[i]);
                    for (uint32_t m_ = pend[depth]; m_; m_ &= m_ - 1) caps[__builtin_ctz(m_)].end = out - dst;
                    depth--; i++;
                    expect_value = 0;
                    if (depth == 0) { *written = out ? (size_t)(out - dst) : 0; return (ptrdiff_t)i; }
                    continue;
                }
                if (c == '{') {
                    if (src[i] != '"') return -1;
                    COPY_STRING(1);
                    MATCH_KEY();
                    i = json_space(src, n, i);
                    if (i >= n || src[i] != ':') return -1;
                    EMIT(':');
                    i++;
                }
                continue;
            } else if (c == '"') {
                COPY_STRING(0);
            } else if (c == 't') {
                if (i + 4 > n || memcmp(src + i, "true", 4)) return -1;
                if (out) { memcpy(out, "true", 4); out += 4; } i += 4;
            } else if (c == 'f') {
                if (i + 5 > n || memcmp(src + i, "false", 5)) return -1;
                if (out) { memcpy(out, "false", 5); out += 5; } i += 5;
            } else if (c == 'n') {
                if (i + 4 > n || memcmp(src + i, "null", 4)) return -1;
                if (out) { memcpy(out, "null", 4); out += 4; } i += 4;
            } else {
                ptrdiff_t e = json_number_end(src, n, i);
                if (e < 0) return -1;
                if (out) { memcpy(out, src + i, (size_t)e - i); out += (size_t)e - i; }
                i = (size_t)e;
            }
            for (uint32_t m_ = here; m_; m_ &= m_ - 1) caps[__builtin_ctz(m_)].end = out - dst;
            if (depth == 0) { *written = out ? (size_t)(out - dst) : 0; return (ptrdiff_t)i; }
            expect_value = 0;
            continue;
        }
        uint8_t c = src[i];
        char top = stack[depth - 1];
        if (c == ',') {
            EMIT(',');
            i = json_space(src, n, i + 1);
            if (top == '{') {
                if (i >= n || src[i] != '"') return -1;
                COPY_STRING(1);
                MATCH_KEY();
                i = json_space(src, n, i);
                if (i >= n || src[i] != ':') return -1;
                EMIT(':');
                i++;
            }
            expect_value = 1;
            continue;
        }
        if ((top == '{' && c == '}') || (top == '[' && c == ']')) {
            EMIT(c);
            for (uint32_t m_ = pend[depth]; m_; m_ &= m_ - 1) caps[__builtin_ctz(m_)].end = out - dst;
            depth--; i++;
            if (depth == 0) { *written = out ? (size_t)(out - dst) : 0; return (ptrdiff_t)i; }
            continue;
        }
        return -1;
    }
#undef MATCH_KEY
#undef COPY_STRING
#undef EMIT
}

ptrdiff_t mds_json_lower_copy_value(uint8_t *dst, const uint8_t *src, size_t n, size_t i, int max_depth, size_t *written,
                                    mds_json_capture *caps, int ncaps) {
    return json_walk(dst, src, n, i, max_depth, written, caps, ncaps);
}

ptrdiff_t mds_json_value_end(const uint8_t *p, size_t n, size_t i, int max_depth) {
    size_t w;
    return json_walk(NULL, p, n, i, max_depth, &w, NULL, 0);
}

static int hexval(uint8_t c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; }

/* Python's json.dumps text; with q, each byte of it is written as inside a JSON string
   (a backslash before every '"' and '\\'), so the text can be stored as a string value. */
#define PY_PUT(b) do { uint8_t b_ = (uint8_t)(b); if (q && (b_ == '"' || b_ == '\\')) *o++ = '\\'; *o++ = b_; } while (0)

static uint8_t *py_u(uint8_t *o, uint32_t x, int q) {
    static const char hex[] = "0123456789abcdef";
    PY_PUT('\\'); *o++ = 'u';
    *o++ = (uint8_t)hex[x >> 12 & 15]; *o++ = (uint8_t)hex[x >> 8 & 15];
    *o++ = (uint8_t)hex[x >> 4 & 15]; *o++ = (uint8_t)hex[x & 15];
    return o;
}

static uint8_t *py_scalar(uint8_t *o, uint32_t s, int q) {
    switch (s) {
    case '"': PY_PUT('\\'); PY_PUT('"'); return o;
    case '\\': PY_PUT('\\'); PY_PUT('\\'); return o;
    case '\n': PY_PUT('\\'); *o++ = 'n'; return o;
    case '\r': PY_PUT('\\'); *o++ = 'r'; return o;
    case '\t': PY_PUT('\\'); *o++ = 't'; return o;
    case '\b': PY_PUT('\\'); *o++ = 'b'; return o;
    case '\f': PY_PUT('\\'); *o++ = 'f'; return o;
    }
    if (s >= 0x20 && s < 0x7F) { *o++ = (uint8_t)s; return o; }
    if (s > 0xFFFF) {
        uint32_t x = s - 0x10000;
        o = py_u(o, 0xD800 + (x >> 10), q);
        return py_u(o, 0xDC00 + (x & 0x3FF), q);
    }
    return py_u(o, s, q);
}

static size_t python_json(uint8_t *dst, const uint8_t *src, size_t n, int q) {
    uint8_t *o = dst;
    size_t i = 0;
    while (i < n) {
        uint8_t c = src[i];
        if (c == ',') { *o++ = ','; *o++ = ' '; i++; continue; }
        if (c == ':') { *o++ = ':'; *o++ = ' '; i++; continue; }
        if (c != '"') { *o++ = c; i++; continue; }
        PY_PUT('"');
        i++;
        while (i < n && src[i] != '"') {
            uint8_t b = src[i];
            /* plain printable ASCII runs are the common case: copied without decoding */
#if defined(__SSE2__)
            if (i + 16 <= n) {
                __m128i v = _mm_loadu_si128((const __m128i *)(src + i));
                /* '"', '\\', < 0x20 or >= 0x7F (signed: >= 0x7F or negative) */
                __m128i bad = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))),
                                           _mm_or_si128(_mm_cmplt_epi8(v, _mm_set1_epi8(0x20)), _mm_cmpgt_epi8(v, _mm_set1_epi8(0x7E))));
                int m = _mm_movemask_epi8(bad);
                size_t k = m ? (size_t)__builtin_ctz((unsigned)m) : 16;
                if (k) {
                    _mm_storeu_si128((__m128i *)o, v);
                    o += k; i += k;
                    continue;
                }
            }
#endif
            if (b >= 0x20 && b < 0x7F && b != '\\') { *o++ = b; i++; continue; }
            uint32_t s;
            if (b == '\\' && i + 1 < n) {
                uint8_t e = src[i + 1];
                i += 2;
                switch (e) {
                case 'b': s = 8; break;
                case 'f': s = 12; break;
                case 'n': s = 10; break;
                case 'r': s = 13; break;
                case 't': s = 9; break;
                case 'u':
                    s = 0;
                    for (int k = 0; k < 4 && i < n; k++, i++) s = s << 4 | (uint32_t)hexval(src[i]);
                    if ((s & 0xFC00) == 0xD800 && i + 6 <= n && src[i] == '\\' && src[i + 1] == 'u') {
                        uint32_t lo = 0;
                        for (int k = 2; k < 6; k++) lo = lo << 4 | (uint32_t)hexval(src[i + k]);
                        if ((lo & 0xFC00) == 0xDC00) { s = 0x10000 + ((s - 0xD800) << 10) + (lo - 0xDC00); i += 6; }
                    }
                    if ((s & 0xF800) == 0xD800) s = 0xFFFD;
                    break;
                default: s = e; break;
                }
            } else if (b < 0x80) {
                s = b; i++;
            } else {
                int len = b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
                s = b & (len == 2 ? 0x1F : len == 3 ? 0x0F : 0x07);
                for (int k = 1; k < len && i + (size_t)k < n; k++) s = s << 6 | (src[i + (size_t)k] & 0x3F);
                i += (size_t)len;
            }
            o = py_scalar(o, s, q);
        }
        PY_PUT('"');
        i++;
    }
    return (size_t)(o - dst);
}
#undef PY_PUT

size_t mds_raw_value(uint8_t *dst, const uint8_t *src, size_t n) {
    static const char head[] = "{\"raw_value\":\"";
    memcpy(dst, head, sizeof head - 1);
    size_t w = sizeof head - 1;
    w += python_json(dst + w, src, n, 1);
    dst[w++] = '"';
    dst[w++] = '}';
    return w;
}
