/* The shim's internals: a JSON reader/writer, the node connection, stable handles, call helpers.
 *
 * Every exported NVML function is one call to the node (docs/nvml-protocol.md): encode the
 * arguments, send them, read the reply, write the result into the caller's memory with NVML's
 * rules (buffer sizes, versioned structs), and hand back the node's return code.
 */
#ifndef FAKE_NVML_SHIM_H
#define FAKE_NVML_SHIM_H

#include <stddef.h>

#include "nvml_abi.h"
#include "nvml_generated.h"

/* ---- json.c: a small reader (tokens over the reply text) and a growing output buffer ---- */
enum jtype { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

struct jtok {
    unsigned char type;
    int start, end; /* the token's text (a string's, inside its quotes, still escaped) */
    int next;       /* the index just past this token's subtree */
    int count;      /* array items, object pairs */
};

struct jdoc {
    const char *text;
    struct jtok *tok;
    int n, cap;
};

int jparse(struct jdoc *d, const char *text, size_t len);
void jfree(struct jdoc *d);
int jfind(const struct jdoc *d, int obj, const char *key); /* the value's token, or -1 */
int jat(const struct jdoc *d, int arr, int index);         /* an array item's token, or -1 */
int jstr(const struct jdoc *d, int tok, char *buf, size_t cap); /* length (unescaped), or -1 */
int jnum(const struct jdoc *d, int tok, unsigned long long *out); /* 0, or -1 */

struct sbuf {
    char *p;
    size_t n, cap;
    int failed;
};

void sb_puts(struct sbuf *b, const char *s);
void sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sb_string(struct sbuf *b, const char *s); /* a JSON string literal */
void sb_free(struct sbuf *b);

/* ---- transport.c: one connection per concurrent call, to the node named by SHIM_SOCKET_ENV ---- */
struct reply {
    struct jdoc doc;
    char *text;
    int ok; /* the token of the reply's "ok" value */
};

#define SHIM_NO_NODE (-1) /* no node answers: the caller maps this to an NVML code */
int shim_roundtrip(const char *fn, const char *args, unsigned int wait_ms, struct reply *r);
void reply_free(struct reply *r);
void shim_note_once(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- handles.c: the same pointer for the same device for the life of the process ---- */
enum hkind { H_DEVICE = 1, H_EVENT_SET, H_GPU_INSTANCE, H_COMPUTE_INSTANCE };

struct shim_handle {
    unsigned int magic;
    enum hkind kind;
    char uuid[96];     /* device: its UUID; instances: the parent GPU's UUID */
    unsigned int gi, ci;
    long long set_id;  /* event sets */
};

struct shim_handle *shim_handle_get(enum hkind kind, const char *uuid, unsigned int gi, unsigned int ci,
                                    long long set_id);
int shim_handle_ok(const struct shim_handle *h, enum hkind kind); /* ours, of that kind */
void sb_handle(struct sbuf *b, const struct shim_handle *h);      /* its protocol form */
struct shim_handle *shim_handle_from_json(const struct jdoc *d, int tok);

/* ---- call.c: the helpers each exported function is written with ---- */
nvmlReturn_t shim_trace(const char *symbol, nvmlReturn_t code);
#define TRACED(expr) shim_trace(__func__, (expr))

/* Send fn(args) and keep the reply; args is the inside of the JSON array. */
nvmlReturn_t shim_call(const char *fn, const char *args, struct reply *r);
nvmlReturn_t shim_call_waiting(const char *fn, const char *args, unsigned int wait_ms, struct reply *r);
nvmlReturn_t shim_stub(const char *symbol);
nvmlReturn_t shim_init(const char *fn, const char *args);
nvmlReturn_t shim_shutdown(void);

/* Query shapes: fn(device, ...) → a scalar, a string, a handle, a struct. */
nvmlReturn_t call_u64(const char *fn, const char *args, unsigned long long *out);
nvmlReturn_t call_uint(const char *fn, const char *args, unsigned int *out);
nvmlReturn_t call_string(const char *fn, const char *args, char *buf, unsigned int length);
nvmlReturn_t call_handle(const char *fn, const char *args, enum hkind kind, struct shim_handle **out);
nvmlReturn_t call_pair(const char *fn, const char *args, unsigned int *first, unsigned int *second);
nvmlReturn_t device_uint(const char *fn, nvmlDevice_t device, unsigned int *out);
nvmlReturn_t device_string(const char *fn, nvmlDevice_t device, char *buf, unsigned int length);

/* One exported function each: fn(device) answered with a scalar or a string. */
#define DEVICE_UINT(symbol, fn)                                            \
    NVML_API nvmlReturn_t symbol(nvmlDevice_t device, unsigned int *value) \
    {                                                                      \
        return TRACED(device_uint(fn, device, value));                     \
    }
#define DEVICE_STRING(symbol, fn)                                                        \
    NVML_API nvmlReturn_t symbol(nvmlDevice_t device, char *value, unsigned int length) \
    {                                                                                    \
        return TRACED(device_string(fn, device, value, length));                         \
    }

/* Encode arguments: returns NULL (→ INVALID_ARGUMENT) for a handle that is not ours. */
const char *args_of(struct sbuf *b, const struct shim_handle *h, enum hkind kind);
int shim_struct_fields(const struct jdoc *d, int tok);
unsigned long long shim_json_u64(const struct jdoc *d, int tok);
void shim_json_chars(const struct jdoc *d, int tok, char *buf, size_t cap);

const char *shim_error_text(nvmlReturn_t code);
const char *shim_error_name(nvmlReturn_t code);

#endif
