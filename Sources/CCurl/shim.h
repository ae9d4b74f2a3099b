#ifndef MOZDEF_SHIP_CCURL_SHIM_H
#define MOZDEF_SHIP_CCURL_SHIM_H
#include <curl/curl.h>

// Swift cannot call C variadics: one typed wrapper per argument type.
static inline CURLcode mds_curl_setopt_long(CURL *h, CURLoption o, long v) {
    return curl_easy_setopt(h, o, v);
}
static inline CURLcode mds_curl_setopt_string(CURL *h, CURLoption o, const char *v) {
    return curl_easy_setopt(h, o, v);
}
static inline CURLcode mds_curl_setopt_pointer(CURL *h, CURLoption o, void *v) {
    return curl_easy_setopt(h, o, v);
}
static inline CURLcode mds_curl_setopt_slist(CURL *h, CURLoption o, struct curl_slist *v) {
    return curl_easy_setopt(h, o, v);
}
static inline CURLcode mds_curl_setopt_offt(CURL *h, CURLoption o, curl_off_t v) {
    return curl_easy_setopt(h, o, v);
}
typedef size_t (*mds_curl_data_cb)(char *, size_t, size_t, void *);
static inline CURLcode mds_curl_setopt_datacb(CURL *h, CURLoption o, mds_curl_data_cb cb) {
    return curl_easy_setopt(h, o, cb);
}
static inline CURLcode mds_curl_getinfo_long(CURL *h, CURLINFO i, long *out) {
    return curl_easy_getinfo(h, i, out);
}
static inline CURLcode mds_curl_getinfo_socket(CURL *h, curl_socket_t *out) {
    return curl_easy_getinfo(h, CURLINFO_ACTIVESOCKET, out);
}
static inline CURLcode mds_curl_getinfo_double(CURL *h, CURLINFO i, double *out) {
    return curl_easy_getinfo(h, i, out);
}
#endif
