/* The parts of NVML's C ABI the shim needs: opaque handle types and export attributes.
 *
 * NVML's handles are pointers to opaque structs; here every kind points at one shim_handle,
 * which names a device (by UUID), an event set, a GPU instance or a compute instance of the
 * node. Enums are passed as unsigned int, which is how the NVML ABI passes them.
 * The structs the shim fills and the return codes are generated from pynvml (nvml_generated.h).
 */
#ifndef FAKE_NVML_ABI_H
#define FAKE_NVML_ABI_H

typedef int nvmlReturn_t;

struct shim_handle;
typedef struct shim_handle *nvmlDevice_t;
typedef struct shim_handle *nvmlEventSet_t;
typedef struct shim_handle *nvmlGpuInstance_t;
typedef struct shim_handle *nvmlComputeInstance_t;

struct jdoc;

/* Only NVML's functions leave the library (the build uses -fvisibility=hidden). */
#define NVML_API __attribute__((visibility("default")))
#define NVML_STUB __attribute__((weak, visibility("default")))

#endif
