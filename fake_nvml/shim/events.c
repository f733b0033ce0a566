/* Event sets: create, register, wait (blocking on the node, with the caller's timeout), free.
 *
 * A wait holds its own connection for as long as the node blocks it, so other threads keep
 * querying. The node answers TIMEOUT, an event, GPU_IS_LOST, or INVALID_ARGUMENT for a freed
 * set; a node that goes away ends the wait at once with UNKNOWN.
 */
#include <stddef.h>
#include <string.h>

#include "shim.h"

NVML_API nvmlReturn_t nvmlEventSetCreate(nvmlEventSet_t *set)
{
    return TRACED(call_handle("nvmlEventSetCreate", "", H_EVENT_SET, set));
}

NVML_API nvmlReturn_t nvmlDeviceGetSupportedEventTypes(nvmlDevice_t device, unsigned long long *eventTypes)
{
    struct sbuf b = {0};
    nvmlReturn_t rc = call_u64("nvmlDeviceGetSupportedEventTypes", args_of(&b, device, H_DEVICE), eventTypes);
    sb_free(&b);
    return TRACED(rc);
}

NVML_API nvmlReturn_t nvmlDeviceRegisterEvents(nvmlDevice_t device, unsigned long long eventTypes, nvmlEventSet_t set)
{
    struct sbuf b = {0};
    if (args_of(&b, device, H_DEVICE) && shim_handle_ok(set, H_EVENT_SET)) {
        sb_printf(&b, ",%llu,", eventTypes);
        sb_handle(&b, set);
    } else {
        b.failed = 1;
    }
    struct reply r;
    nvmlReturn_t rc = shim_call("nvmlDeviceRegisterEvents", b.failed ? NULL : b.p, &r);
    reply_free(&r);
    sb_free(&b);
    return TRACED(rc);
}

static nvmlReturn_t wait(const char *fn, nvmlEventSet_t set, nvmlEventData_t *data, size_t size,
                         unsigned int timeoutms)
{
    if (!data)
        return NVML_ERROR_INVALID_ARGUMENT;
    struct sbuf b = {0};
    if (args_of(&b, set, H_EVENT_SET))
        sb_printf(&b, ",%u", timeoutms);
    struct reply r;
    nvmlReturn_t rc = shim_call_waiting(fn, b.failed ? NULL : b.p, timeoutms, &r);
    int event = rc == NVML_SUCCESS ? jfind(&r.doc, r.ok, "$event") : -1;
    if (rc == NVML_SUCCESS && event < 0)
        rc = NVML_ERROR_UNKNOWN;
    if (rc == NVML_SUCCESS) {
        nvmlEventData_t e = {0};
        e.device = shim_handle_from_json(&r.doc, jfind(&r.doc, event, "device"));
        e.eventType = shim_json_u64(&r.doc, jfind(&r.doc, event, "eventType"));
        e.eventData = shim_json_u64(&r.doc, jfind(&r.doc, event, "eventData"));
        e.gpuInstanceId = (unsigned int)shim_json_u64(&r.doc, jfind(&r.doc, event, "gpuInstanceId"));
        e.computeInstanceId = (unsigned int)shim_json_u64(&r.doc, jfind(&r.doc, event, "computeInstanceId"));
        memcpy(data, &e, size);
    }
    reply_free(&r);
    sb_free(&b);
    return rc;
}

NVML_API nvmlReturn_t nvmlEventSetWait_v2(nvmlEventSet_t set, nvmlEventData_t *data, unsigned int timeoutms)
{
    return TRACED(wait("nvmlEventSetWait_v2", set, data, sizeof *data, timeoutms));
}

/* The first event data layout had no instance ids: fill only what it holds. */
NVML_API nvmlReturn_t nvmlEventSetWait(nvmlEventSet_t set, nvmlEventData_t *data, unsigned int timeoutms)
{
    return TRACED(wait("nvmlEventSetWait", set, data, offsetof(nvmlEventData_t, gpuInstanceId), timeoutms));
}

NVML_API nvmlReturn_t nvmlEventSetFree(nvmlEventSet_t set)
{
    struct sbuf b = {0};
    struct reply r;
    nvmlReturn_t rc = shim_call("nvmlEventSetFree", args_of(&b, set, H_EVENT_SET), &r);
    reply_free(&r);
    sb_free(&b);
    return TRACED(rc);
}
