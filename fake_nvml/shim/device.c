/* Device enumeration, identity, memory and topology: each a query of the node.
 *
 * The versioned symbols (…_v2, …_v3) are exported beside the old ones because consumers pick
 * whichever they find (go-nvml probes with dlsym); both forward to the same pynvml function.
 * Old struct versions get only the prefix they share with the current layout, so a caller's
 * smaller struct is never overrun.
 */
#include <stddef.h>
#include <string.h>

#include "shim.h"

DEVICE_UINT(nvmlDeviceGetIndex, "nvmlDeviceGetIndex")
DEVICE_UINT(nvmlDeviceGetMinorNumber, "nvmlDeviceGetMinorNumber")
DEVICE_UINT(nvmlDeviceGetBrand, "nvmlDeviceGetBrand")
DEVICE_UINT(nvmlDeviceGetArchitecture, "nvmlDeviceGetArchitecture")
DEVICE_UINT(nvmlDeviceGetPowerManagementLimit, "nvmlDeviceGetPowerManagementLimit")
DEVICE_UINT(nvmlDeviceGetNumaNodeId, "nvmlDeviceGetNumaNodeId")
DEVICE_UINT(nvmlDeviceGetPersistenceMode, "nvmlDeviceGetPersistenceMode")
DEVICE_STRING(nvmlDeviceGetName, "nvmlDeviceGetName")
DEVICE_STRING(nvmlDeviceGetUUID, "nvmlDeviceGetUUID")
DEVICE_STRING(nvmlDeviceGetSerial, "nvmlDeviceGetSerial")
DEVICE_STRING(nvmlDeviceGetBoardPartNumber, "nvmlDeviceGetBoardPartNumber")

/* ---- enumeration ---- */
static nvmlReturn_t count(unsigned int *deviceCount)
{
    return call_uint("nvmlDeviceGetCount", "", deviceCount);
}

NVML_API nvmlReturn_t nvmlDeviceGetCount(unsigned int *deviceCount)
{
    return TRACED(count(deviceCount));
}

NVML_API nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *deviceCount)
{
    return TRACED(count(deviceCount));
}

static nvmlReturn_t by_index(unsigned int index, nvmlDevice_t *device)
{
    struct sbuf b = {0};
    sb_printf(&b, "%u", index);
    nvmlReturn_t rc = call_handle("nvmlDeviceGetHandleByIndex", b.failed ? NULL : b.p, H_DEVICE, device);
    sb_free(&b);
    return rc;
}

NVML_API nvmlReturn_t nvmlDeviceGetHandleByIndex(unsigned int index, nvmlDevice_t *device)
{
    return TRACED(by_index(index, device));
}

NVML_API nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t *device)
{
    return TRACED(by_index(index, device));
}

static nvmlReturn_t by_text(const char *fn, const char *text, nvmlDevice_t *device)
{
    if (!text)
        return NVML_ERROR_INVALID_ARGUMENT;
    struct sbuf b = {0};
    sb_string(&b, text);
    nvmlReturn_t rc = call_handle(fn, b.failed ? NULL : b.p, H_DEVICE, device);
    sb_free(&b);
    return rc;
}

NVML_API nvmlReturn_t nvmlDeviceGetHandleByUUID(const char *uuid, nvmlDevice_t *device)
{
    return TRACED(by_text("nvmlDeviceGetHandleByUUID", uuid, device));
}

NVML_API nvmlReturn_t nvmlDeviceGetHandleBySerial(const char *serial, nvmlDevice_t *device)
{
    return TRACED(by_text("nvmlDeviceGetHandleBySerial", serial, device));
}

NVML_API nvmlReturn_t nvmlDeviceGetHandleByPciBusId(const char *pciBusId, nvmlDevice_t *device)
{
    return TRACED(by_text("nvmlDeviceGetHandleByPciBusId", pciBusId, device));
}

NVML_API nvmlReturn_t nvmlDeviceGetHandleByPciBusId_v2(const char *pciBusId, nvmlDevice_t *device)
{
    return TRACED(by_text("nvmlDeviceGetHandleByPciBusId", pciBusId, device));
}

/* ---- pairs and parameterised scalars ---- */
static nvmlReturn_t device_pair(const char *fn, nvmlDevice_t device, unsigned int *a, unsigned int *b)
{
    struct sbuf s = {0};
    nvmlReturn_t rc = call_pair(fn, args_of(&s, device, H_DEVICE), a, b);
    sb_free(&s);
    return rc;
}

NVML_API nvmlReturn_t nvmlDeviceGetCudaComputeCapability(nvmlDevice_t device, int *major, int *minor)
{
    return TRACED(device_pair("nvmlDeviceGetCudaComputeCapability", device, (unsigned int *)major,
                              (unsigned int *)minor));
}

NVML_API nvmlReturn_t nvmlDeviceGetEccMode(nvmlDevice_t device, unsigned int *current, unsigned int *pending)
{
    return TRACED(device_pair("nvmlDeviceGetEccMode", device, current, pending));
}

NVML_API nvmlReturn_t nvmlDeviceGetMigMode(nvmlDevice_t device, unsigned int *currentMode, unsigned int *pendingMode)
{
    return TRACED(device_pair("nvmlDeviceGetMigMode", device, currentMode, pendingMode));
}

static nvmlReturn_t device_and_uint(const char *fn, nvmlDevice_t device, unsigned int arg, unsigned int *out)
{
    struct sbuf b = {0};
    if (args_of(&b, device, H_DEVICE))
        sb_printf(&b, ",%u", arg);
    nvmlReturn_t rc = call_uint(fn, b.failed ? NULL : b.p, out);
    sb_free(&b);
    return rc;
}

NVML_API nvmlReturn_t nvmlDeviceGetTemperature(nvmlDevice_t device, unsigned int sensorType, unsigned int *temp)
{
    return TRACED(device_and_uint("nvmlDeviceGetTemperature", device, sensorType, temp));
}

NVML_API nvmlReturn_t nvmlDeviceGetNvLinkState(nvmlDevice_t device, unsigned int link, unsigned int *isActive)
{
    return TRACED(device_and_uint("nvmlDeviceGetNvLinkState", device, link, isActive));
}

NVML_API nvmlReturn_t nvmlDeviceGetTopologyCommonAncestor(nvmlDevice_t device1, nvmlDevice_t device2,
                                                          unsigned int *pathInfo)
{
    struct sbuf b = {0};
    if (args_of(&b, device1, H_DEVICE) && shim_handle_ok(device2, H_DEVICE)) {
        sb_puts(&b, ",");
        sb_handle(&b, device2);
    } else {
        b.failed = 1;
    }
    nvmlReturn_t rc = call_uint("nvmlDeviceGetTopologyCommonAncestor", b.failed ? NULL : b.p, pathInfo);
    sb_free(&b);
    return TRACED(rc);
}

/* ---- structs ---- */
static nvmlReturn_t pci_info(const char *fn, const char *args, nvmlPciInfo_t *pci, size_t size)
{
    if (!pci)
        return NVML_ERROR_INVALID_ARGUMENT;
    struct reply r;
    nvmlReturn_t rc = shim_call(fn, args, &r);
    nvmlPciInfo_t full = {0};
    if (rc == NVML_SUCCESS && shim_fill_nvmlPciInfo_t(&r.doc, r.ok, &full) < 0)
        rc = NVML_ERROR_UNKNOWN;
    if (rc == NVML_SUCCESS)
        memcpy(pci, &full, size);
    reply_free(&r);
    return rc;
}

static nvmlReturn_t device_pci(nvmlDevice_t device, nvmlPciInfo_t *pci, size_t size)
{
    struct sbuf b = {0};
    nvmlReturn_t rc = pci_info("nvmlDeviceGetPciInfo_v3", args_of(&b, device, H_DEVICE), pci, size);
    sb_free(&b);
    return rc;
}

#define PCI_SHARED_PREFIX offsetof(nvmlPciInfo_t, busId) /* what the v1 and v2 layouts also hold */

NVML_API nvmlReturn_t nvmlDeviceGetPciInfo_v3(nvmlDevice_t device, nvmlPciInfo_t *pci)
{
    return TRACED(device_pci(device, pci, sizeof *pci));
}

NVML_API nvmlReturn_t nvmlDeviceGetPciInfo_v2(nvmlDevice_t device, nvmlPciInfo_t *pci)
{
    return TRACED(device_pci(device, pci, PCI_SHARED_PREFIX));
}

NVML_API nvmlReturn_t nvmlDeviceGetPciInfo(nvmlDevice_t device, nvmlPciInfo_t *pci)
{
    return TRACED(device_pci(device, pci, PCI_SHARED_PREFIX));
}

static nvmlReturn_t remote_pci(nvmlDevice_t device, unsigned int link, nvmlPciInfo_t *pci, size_t size)
{
    struct sbuf b = {0};
    if (args_of(&b, device, H_DEVICE))
        sb_printf(&b, ",%u", link);
    nvmlReturn_t rc = pci_info("nvmlDeviceGetNvLinkRemotePciInfo", b.failed ? NULL : b.p, pci, size);
    sb_free(&b);
    return rc;
}

NVML_API nvmlReturn_t nvmlDeviceGetNvLinkRemotePciInfo_v2(nvmlDevice_t device, unsigned int link, nvmlPciInfo_t *pci)
{
    return TRACED(remote_pci(device, link, pci, sizeof *pci));
}

NVML_API nvmlReturn_t nvmlDeviceGetNvLinkRemotePciInfo(nvmlDevice_t device, unsigned int link, nvmlPciInfo_t *pci)
{
    return TRACED(remote_pci(device, link, pci, PCI_SHARED_PREFIX));
}

NVML_API nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t device, nvmlMemory_t *memory)
{
    if (!memory)
        return TRACED(NVML_ERROR_INVALID_ARGUMENT);
    struct sbuf b = {0};
    struct reply r;
    nvmlReturn_t rc = shim_call("nvmlDeviceGetMemoryInfo", args_of(&b, device, H_DEVICE), &r);
    if (rc == NVML_SUCCESS && shim_fill_nvmlMemory_t(&r.doc, r.ok, memory) < 0)
        rc = NVML_ERROR_UNKNOWN;
    reply_free(&r);
    sb_free(&b);
    return TRACED(rc);
}

NVML_API nvmlReturn_t nvmlDeviceGetMemoryInfo_v2(nvmlDevice_t device, nvmlMemory_v2_t *memory)
{
    if (!memory)
        return TRACED(NVML_ERROR_INVALID_ARGUMENT);
    if (!memory->version)
        return TRACED(NVML_ERROR_ARGUMENT_VERSION_MISMATCH);
    struct sbuf b = {0};
    if (args_of(&b, device, H_DEVICE))
        sb_printf(&b, ",%u", memory->version); /* the node checks it: ARGUMENT_VERSION_MISMATCH */
    struct reply r;
    nvmlReturn_t rc = shim_call("nvmlDeviceGetMemoryInfo", b.failed ? NULL : b.p, &r);
    if (rc == NVML_SUCCESS && shim_fill_nvmlMemory_v2_t(&r.doc, r.ok, memory) < 0)
        rc = NVML_ERROR_UNKNOWN;
    reply_free(&r);
    sb_free(&b);
    return TRACED(rc);
}
