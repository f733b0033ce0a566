/* MIG: device handles of MIG devices and their parent, GPU and compute instances, profiles.
 *
 * A MIG device handle is an nvmlDevice_t like any other (named by the MIG UUID); GPU and
 * compute instance handles are named by the parent GPU and their ids, so asking twice for the
 * same instance gives the same pointer.
 */
#include "shim.h"

DEVICE_UINT(nvmlDeviceGetMaxMigDeviceCount, "nvmlDeviceGetMaxMigDeviceCount")
DEVICE_UINT(nvmlDeviceIsMigDeviceHandle, "nvmlDeviceIsMigDeviceHandle")
DEVICE_UINT(nvmlDeviceGetGpuInstanceId, "nvmlDeviceGetGpuInstanceId")
DEVICE_UINT(nvmlDeviceGetComputeInstanceId, "nvmlDeviceGetComputeInstanceId")

/* fn(handle, n...) as JSON arguments; NULL when the handle is not ours. */
static const char *with_uints(struct sbuf *b, const struct shim_handle *h, enum hkind kind, int n,
                              const unsigned int *values)
{
    if (!args_of(b, h, kind))
        return NULL;
    for (int i = 0; i < n; i++)
        sb_printf(b, ",%u", values[i]);
    return b->failed ? NULL : b->p;
}

static nvmlReturn_t handle_query(const char *fn, const struct shim_handle *h, enum hkind kind, int n,
                                 const unsigned int *values, enum hkind out_kind, struct shim_handle **out)
{
    struct sbuf b = {0};
    nvmlReturn_t rc = call_handle(fn, with_uints(&b, h, kind, n, values), out_kind, out);
    sb_free(&b);
    return rc;
}

NVML_API nvmlReturn_t nvmlDeviceGetMigDeviceHandleByIndex(nvmlDevice_t device, unsigned int index,
                                                          nvmlDevice_t *migDevice)
{
    return TRACED(handle_query("nvmlDeviceGetMigDeviceHandleByIndex", device, H_DEVICE, 1, &index, H_DEVICE,
                               migDevice));
}

NVML_API nvmlReturn_t nvmlDeviceGetDeviceHandleFromMigDeviceHandle(nvmlDevice_t migDevice, nvmlDevice_t *device)
{
    return TRACED(handle_query("nvmlDeviceGetDeviceHandleFromMigDeviceHandle", migDevice, H_DEVICE, 0, NULL,
                               H_DEVICE, device));
}

NVML_API nvmlReturn_t nvmlDeviceGetGpuInstanceById(nvmlDevice_t device, unsigned int id, nvmlGpuInstance_t *gpuInstance)
{
    return TRACED(handle_query("nvmlDeviceGetGpuInstanceById", device, H_DEVICE, 1, &id, H_GPU_INSTANCE,
                               gpuInstance));
}

NVML_API nvmlReturn_t nvmlGpuInstanceGetComputeInstanceById(nvmlGpuInstance_t gpuInstance, unsigned int id,
                                                            nvmlComputeInstance_t *computeInstance)
{
    return TRACED(handle_query("nvmlGpuInstanceGetComputeInstanceById", gpuInstance, H_GPU_INSTANCE, 1, &id,
                               H_COMPUTE_INSTANCE, computeInstance));
}

/* fn(handle, n...) answered with a struct, filled by its generated filler. */
#define STRUCT_QUERY(fn, h, kind, n, values, type, out)                                  \
    do {                                                                                 \
        if (!(out))                                                                      \
            return TRACED(NVML_ERROR_INVALID_ARGUMENT);                                  \
        struct sbuf b_ = {0};                                                            \
        struct reply r_;                                                                 \
        nvmlReturn_t rc_ = shim_call(fn, with_uints(&b_, h, kind, n, values), &r_);      \
        if (rc_ == NVML_SUCCESS && shim_fill_##type(&r_.doc, r_.ok, out) < 0)            \
            rc_ = NVML_ERROR_UNKNOWN;                                                    \
        reply_free(&r_);                                                                 \
        sb_free(&b_);                                                                    \
        return TRACED(rc_);                                                              \
    } while (0)

NVML_API nvmlReturn_t nvmlDeviceGetAttributes_v2(nvmlDevice_t device, nvmlDeviceAttributes_t *attributes)
{
    STRUCT_QUERY("nvmlDeviceGetAttributes", device, H_DEVICE, 0, NULL, nvmlDeviceAttributes_t, attributes);
}

NVML_API nvmlReturn_t nvmlDeviceGetAttributes(nvmlDevice_t device, nvmlDeviceAttributes_t *attributes)
{
    STRUCT_QUERY("nvmlDeviceGetAttributes", device, H_DEVICE, 0, NULL, nvmlDeviceAttributes_t, attributes);
}

NVML_API nvmlReturn_t nvmlDeviceGetGpuInstanceProfileInfo(nvmlDevice_t device, unsigned int profile,
                                                          nvmlGpuInstanceProfileInfo_t *info)
{
    unsigned int args[] = {profile, 1};
    STRUCT_QUERY("nvmlDeviceGetGpuInstanceProfileInfo", device, H_DEVICE, 2, args, nvmlGpuInstanceProfileInfo_t,
                 info);
}

NVML_API nvmlReturn_t nvmlDeviceGetGpuInstanceProfileInfoV(nvmlDevice_t device, unsigned int profile,
                                                           nvmlGpuInstanceProfileInfo_v2_t *info)
{
    unsigned int args[] = {profile, 2};
    STRUCT_QUERY("nvmlDeviceGetGpuInstanceProfileInfo", device, H_DEVICE, 2, args,
                 nvmlGpuInstanceProfileInfo_v2_t, info);
}

NVML_API nvmlReturn_t nvmlGpuInstanceGetInfo(nvmlGpuInstance_t gpuInstance, nvmlGpuInstanceInfo_t *info)
{
    STRUCT_QUERY("nvmlGpuInstanceGetInfo", gpuInstance, H_GPU_INSTANCE, 0, NULL, nvmlGpuInstanceInfo_t, info);
}

NVML_API nvmlReturn_t nvmlComputeInstanceGetInfo_v2(nvmlComputeInstance_t computeInstance,
                                                    nvmlComputeInstanceInfo_t *info)
{
    STRUCT_QUERY("nvmlComputeInstanceGetInfo", computeInstance, H_COMPUTE_INSTANCE, 0, NULL,
                 nvmlComputeInstanceInfo_t, info);
}

NVML_API nvmlReturn_t nvmlComputeInstanceGetInfo(nvmlComputeInstance_t computeInstance,
                                                 nvmlComputeInstanceInfo_t *info)
{
    STRUCT_QUERY("nvmlComputeInstanceGetInfo", computeInstance, H_COMPUTE_INSTANCE, 0, NULL,
                 nvmlComputeInstanceInfo_t, info);
}

NVML_API nvmlReturn_t nvmlGpuInstanceGetComputeInstanceProfileInfo(nvmlGpuInstance_t gpuInstance, unsigned int profile,
                                                                   unsigned int engProfile,
                                                                   nvmlComputeInstanceProfileInfo_t *info)
{
    unsigned int args[] = {profile, engProfile, 1};
    STRUCT_QUERY("nvmlGpuInstanceGetComputeInstanceProfileInfo", gpuInstance, H_GPU_INSTANCE, 3, args,
                 nvmlComputeInstanceProfileInfo_t, info);
}

NVML_API nvmlReturn_t nvmlGpuInstanceGetComputeInstanceProfileInfoV(nvmlGpuInstance_t gpuInstance,
                                                                    unsigned int profile, unsigned int engProfile,
                                                                    nvmlComputeInstanceProfileInfo_v2_t *info)
{
    unsigned int args[] = {profile, engProfile, 2};
    STRUCT_QUERY("nvmlGpuInstanceGetComputeInstanceProfileInfo", gpuInstance, H_GPU_INSTANCE, 3, args,
                 nvmlComputeInstanceProfileInfo_v2_t, info);
}
