/* Init, shutdown, error strings and the system-wide queries.
 *
 * The node keeps the init refcount (one per process: the shim's session), so init failures
 * injected on the node (fail_init) reach the caller as its return code. nvmlErrorString never
 * needs the node: go-nvml calls it to print every error.
 */
#include "shim.h"

NVML_API nvmlReturn_t nvmlInit(void)
{
    return TRACED(shim_init("nvmlInit", ""));
}

NVML_API nvmlReturn_t nvmlInit_v2(void)
{
    return TRACED(shim_init("nvmlInit", ""));
}

NVML_API nvmlReturn_t nvmlInitWithFlags(unsigned int flags)
{
    struct sbuf b = {0};
    sb_printf(&b, "%u", flags);
    nvmlReturn_t rc = b.failed ? NVML_ERROR_MEMORY : shim_init("nvmlInitWithFlags", b.p);
    sb_free(&b);
    return TRACED(rc);
}

NVML_API nvmlReturn_t nvmlShutdown(void)
{
    return TRACED(shim_shutdown());
}

NVML_API const char *nvmlErrorString(nvmlReturn_t result)
{
    shim_trace(__func__, NVML_SUCCESS);
    return shim_error_text(result);
}

NVML_API nvmlReturn_t nvmlSystemGetDriverVersion(char *version, unsigned int length)
{
    return TRACED(call_string("nvmlSystemGetDriverVersion", "", version, length));
}

NVML_API nvmlReturn_t nvmlSystemGetNVMLVersion(char *version, unsigned int length)
{
    return TRACED(call_string("nvmlSystemGetNVMLVersion", "", version, length));
}

static nvmlReturn_t cuda_version(const char *fn, int *version)
{
    unsigned int v = 0;
    nvmlReturn_t rc = version ? call_uint(fn, "", &v) : NVML_ERROR_INVALID_ARGUMENT;
    if (rc == NVML_SUCCESS)
        *version = (int)v;
    return rc;
}

NVML_API nvmlReturn_t nvmlSystemGetCudaDriverVersion(int *cudaDriverVersion)
{
    return TRACED(cuda_version("nvmlSystemGetCudaDriverVersion", cudaDriverVersion));
}

NVML_API nvmlReturn_t nvmlSystemGetCudaDriverVersion_v2(int *cudaDriverVersion)
{
    return TRACED(cuda_version("nvmlSystemGetCudaDriverVersion_v2", cudaDriverVersion));
}
