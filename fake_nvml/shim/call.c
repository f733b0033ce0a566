/* What every exported function is made of: one call to the node, NVML's output rules, the trace.
 *
 * When no node answers, the library behaves as libnvidia-ml.so.1 does on a machine whose driver
 * is not loaded: nvmlInit answers DRIVER_NOT_LOADED, later calls UNINITIALIZED (or UNKNOWN when
 * the node went away after a successful init). Nothing blocks past its deadline.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shim.h"

static int inits; /* successful inits minus shutdowns, as the node counted them for this process */

/* ---- the opt-in call trace (SHIM_TRACE_ENV: "1"/"stderr", or a file to append to) ---- */
static pthread_once_t trace_once = PTHREAD_ONCE_INIT;
static int trace_fd = -1;

static void open_trace(void)
{
    const char *where = getenv(SHIM_TRACE_ENV);
    if (!where || !*where || !strcmp(where, "0"))
        return;
    if (!strcmp(where, "1") || !strcmp(where, "stderr")) {
        trace_fd = 2;
        return;
    }
    trace_fd = open(where, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (trace_fd < 0)
        shim_note_once("cannot open the trace file %s=%s", SHIM_TRACE_ENV, where);
}

nvmlReturn_t shim_trace(const char *symbol, nvmlReturn_t code)
{
    pthread_once(&trace_once, open_trace);
    if (trace_fd >= 0) {
        char line[160];
        int n = snprintf(line, sizeof line, "fake_nvml[%d] %s -> %s\n", (int)getpid(), symbol,
                         shim_error_name(code));
        if (n > 0 && write(trace_fd, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1) < 0)
            trace_fd = -1;
    }
    return code;
}

/* ---- calls ---- */
static nvmlReturn_t unreachable(void)
{
    return __atomic_load_n(&inits, __ATOMIC_SEQ_CST) > 0 ? NVML_ERROR_UNKNOWN : NVML_ERROR_UNINITIALIZED;
}

nvmlReturn_t shim_call_waiting(const char *fn, const char *args, unsigned int wait_ms, struct reply *r)
{
    if (!args) {
        *r = (struct reply){.ok = -1};
        return NVML_ERROR_INVALID_ARGUMENT;
    }
    int rc = shim_roundtrip(fn, args, wait_ms, r);
    return rc == SHIM_NO_NODE ? unreachable() : rc;
}

nvmlReturn_t shim_call(const char *fn, const char *args, struct reply *r)
{
    return shim_call_waiting(fn, args, 0, r);
}

nvmlReturn_t shim_stub(const char *symbol)
{
    struct reply r;
    nvmlReturn_t rc = shim_call(symbol, "", &r);
    reply_free(&r);
    return shim_trace(symbol, rc);
}

nvmlReturn_t shim_init(const char *fn, const char *args)
{
    struct reply r;
    int rc = shim_roundtrip(fn, args, 0, &r);
    reply_free(&r);
    if (rc == SHIM_NO_NODE)
        return NVML_ERROR_DRIVER_NOT_LOADED;
    if (rc == NVML_SUCCESS)
        __atomic_add_fetch(&inits, 1, __ATOMIC_SEQ_CST);
    return rc;
}

nvmlReturn_t shim_shutdown(void)
{
    struct reply r;
    int rc = shim_roundtrip("nvmlShutdown", "", 0, &r);
    reply_free(&r);
    if (rc == SHIM_NO_NODE) /* nothing left to release on a node that is gone */
        rc = __atomic_load_n(&inits, __ATOMIC_SEQ_CST) > 0 ? NVML_SUCCESS : NVML_ERROR_UNINITIALIZED;
    if (rc == NVML_SUCCESS)
        __atomic_sub_fetch(&inits, 1, __ATOMIC_SEQ_CST);
    return rc;
}

/* ---- reply values ---- */
int shim_struct_fields(const struct jdoc *d, int tok)
{
    return jfind(d, tok, "fields");
}

unsigned long long shim_json_u64(const struct jdoc *d, int tok)
{
    unsigned long long v = 0;
    int tagged = jfind(d, tok, "$c_uint");
    jnum(d, tagged >= 0 ? tagged : tok, &v);
    return v;
}

void shim_json_chars(const struct jdoc *d, int tok, char *buf, size_t cap)
{
    int tagged = jfind(d, tok, "$bytes");
    if (jstr(d, tagged >= 0 ? tagged : tok, buf, cap) < 0 && cap)
        buf[0] = '\0';
}

const char *args_of(struct sbuf *b, const struct shim_handle *h, enum hkind kind)
{
    if (!shim_handle_ok(h, kind))
        return NULL;
    sb_handle(b, h);
    return b->failed ? NULL : b->p;
}

nvmlReturn_t call_u64(const char *fn, const char *args, unsigned long long *out)
{
    if (!out)
        return NVML_ERROR_INVALID_ARGUMENT;
    struct reply r;
    nvmlReturn_t rc = shim_call(fn, args, &r);
    if (rc == NVML_SUCCESS)
        *out = shim_json_u64(&r.doc, r.ok);
    reply_free(&r);
    return rc;
}

nvmlReturn_t call_uint(const char *fn, const char *args, unsigned int *out)
{
    unsigned long long v = 0;
    nvmlReturn_t rc = out ? call_u64(fn, args, &v) : NVML_ERROR_INVALID_ARGUMENT;
    if (rc == NVML_SUCCESS)
        *out = (unsigned int)v;
    return rc;
}

nvmlReturn_t call_string(const char *fn, const char *args, char *buf, unsigned int length)
{
    if (!buf)
        return NVML_ERROR_INVALID_ARGUMENT;
    struct reply r;
    nvmlReturn_t rc = shim_call(fn, args, &r);
    if (rc == NVML_SUCCESS) {
        char text[512];
        int n = jstr(&r.doc, r.ok, text, sizeof text);
        if (n < 0 || (size_t)n >= sizeof text)
            rc = NVML_ERROR_UNKNOWN;
        else if ((unsigned int)n + 1 > length)
            rc = NVML_ERROR_INSUFFICIENT_SIZE;
        else
            memcpy(buf, text, (size_t)n + 1);
    }
    reply_free(&r);
    return rc;
}

nvmlReturn_t call_handle(const char *fn, const char *args, enum hkind kind, struct shim_handle **out)
{
    if (!out)
        return NVML_ERROR_INVALID_ARGUMENT;
    struct reply r;
    nvmlReturn_t rc = shim_call(fn, args, &r);
    if (rc == NVML_SUCCESS) {
        struct shim_handle *h = shim_handle_from_json(&r.doc, r.ok);
        if (h && h->kind == kind)
            *out = h;
        else
            rc = NVML_ERROR_UNKNOWN;
    }
    reply_free(&r);
    return rc;
}

nvmlReturn_t call_pair(const char *fn, const char *args, unsigned int *first, unsigned int *second)
{
    if (!first || !second)
        return NVML_ERROR_INVALID_ARGUMENT;
    struct reply r;
    nvmlReturn_t rc = shim_call(fn, args, &r);
    if (rc == NVML_SUCCESS) {
        int list = jfind(&r.doc, r.ok, "$tuple");
        if (list < 0)
            list = r.ok;
        int a = jat(&r.doc, list, 0), b = jat(&r.doc, list, 1);
        if (a < 0 || b < 0) {
            rc = NVML_ERROR_UNKNOWN;
        } else {
            *first = (unsigned int)shim_json_u64(&r.doc, a);
            *second = (unsigned int)shim_json_u64(&r.doc, b);
        }
    }
    reply_free(&r);
    return rc;
}

nvmlReturn_t device_uint(const char *fn, nvmlDevice_t device, unsigned int *out)
{
    struct sbuf b = {0};
    nvmlReturn_t rc = call_uint(fn, args_of(&b, device, H_DEVICE), out);
    sb_free(&b);
    return rc;
}

nvmlReturn_t device_string(const char *fn, nvmlDevice_t device, char *buf, unsigned int length)
{
    struct sbuf b = {0};
    nvmlReturn_t rc = call_string(fn, args_of(&b, device, H_DEVICE), buf, length);
    sb_free(&b);
    return rc;
}
