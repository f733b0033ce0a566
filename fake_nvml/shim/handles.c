/* Stable handles: one pointer per device (and event set, GPU or compute instance) per process.
 *
 * NVML hands out the same nvmlDevice_t for the same GPU every time, and callers compare them.
 * Handles live until the process ends, so a stale one never dangles: the node answers
 * INVALID_ARGUMENT for a device it no longer has. A pointer the shim did not hand out is
 * recognised without being read, so a caller's garbage handle is an error, never a crash.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "shim.h"

#define MAGIC 0x4e564d4cu /* "NVML" */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct shim_handle **all;
static size_t count, cap;

static int same(const struct shim_handle *h, enum hkind kind, const char *uuid, unsigned int gi, unsigned int ci,
                long long set_id)
{
    return h->kind == kind && h->gi == gi && h->ci == ci && h->set_id == set_id && !strcmp(h->uuid, uuid);
}

struct shim_handle *shim_handle_get(enum hkind kind, const char *uuid, unsigned int gi, unsigned int ci,
                                    long long set_id)
{
    if (!uuid || strlen(uuid) >= sizeof((struct shim_handle *)0)->uuid)
        return NULL;
    struct shim_handle *found = NULL;
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < count && !found; i++)
        if (same(all[i], kind, uuid, gi, ci, set_id))
            found = all[i];
    if (!found && count == cap) {
        size_t grown_cap = cap ? cap * 2 : 32;
        struct shim_handle **grown = realloc(all, grown_cap * sizeof *grown);
        if (grown) {
            all = grown;
            cap = grown_cap;
        }
    }
    if (!found && count < cap) {
        found = calloc(1, sizeof *found);
        if (found) {
            *found = (struct shim_handle){MAGIC, kind, "", gi, ci, set_id};
            strcpy(found->uuid, uuid);
            all[count++] = found;
        }
    }
    pthread_mutex_unlock(&lock);
    return found;
}

int shim_handle_ok(const struct shim_handle *h, enum hkind kind)
{
    int ok = 0;
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < count && !ok; i++)
        ok = all[i] == h;
    pthread_mutex_unlock(&lock);
    return ok && h->magic == MAGIC && h->kind == kind;
}

void sb_handle(struct sbuf *b, const struct shim_handle *h)
{
    switch (h->kind) {
    case H_DEVICE:
        sb_puts(b, "{\"$handle\":");
        sb_string(b, h->uuid);
        sb_puts(b, "}");
        break;
    case H_EVENT_SET:
        sb_printf(b, "{\"$event_set\":%lld}", h->set_id);
        break;
    case H_GPU_INSTANCE:
        sb_puts(b, "{\"$gpu_instance\":{\"device\":");
        sb_string(b, h->uuid);
        sb_printf(b, ",\"id\":%u}}", h->gi);
        break;
    case H_COMPUTE_INSTANCE:
        sb_puts(b, "{\"$compute_instance\":{\"device\":");
        sb_string(b, h->uuid);
        sb_printf(b, ",\"gpuInstance\":%u,\"id\":%u}}", h->gi, h->ci);
        break;
    }
}

static unsigned int uint_at(const struct jdoc *d, int obj, const char *key)
{
    unsigned long long v = 0;
    jnum(d, jfind(d, obj, key), &v);
    return (unsigned int)v;
}

struct shim_handle *shim_handle_from_json(const struct jdoc *d, int tok)
{
    char uuid[96];
    int v;
    if ((v = jfind(d, tok, "$handle")) >= 0 && jstr(d, v, uuid, sizeof uuid) >= 0)
        return shim_handle_get(H_DEVICE, uuid, 0, 0, 0);
    if ((v = jfind(d, tok, "$event_set")) >= 0) {
        unsigned long long id;
        return jnum(d, v, &id) == 0 ? shim_handle_get(H_EVENT_SET, "", 0, 0, (long long)id) : NULL;
    }
    if ((v = jfind(d, tok, "$gpu_instance")) >= 0 && jstr(d, jfind(d, v, "device"), uuid, sizeof uuid) >= 0)
        return shim_handle_get(H_GPU_INSTANCE, uuid, uint_at(d, v, "id"), 0, 0);
    if ((v = jfind(d, tok, "$compute_instance")) >= 0 && jstr(d, jfind(d, v, "device"), uuid, sizeof uuid) >= 0)
        return shim_handle_get(H_COMPUTE_INSTANCE, uuid, uint_at(d, v, "gpuInstance"), uint_at(d, v, "id"), 0);
    return NULL;
}
