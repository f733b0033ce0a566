/* The shim's C ABI, checked the way go-nvml uses a libnvidia-ml.so.1: dlopen, then dlsym.
 *
 * Usage: shim_abi LIBRARY CHECK. Each check prints "ok <what>" or "FAIL <what>: ..." lines and
 * exits 1 on a failure; "wake" and "loss" print "waiting" before they block, so the test can
 * inject an XID or stop the node at that moment. The test (test_shim_abi.py) serves the node.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef int ret_t;
typedef void *dev_t_;
typedef struct {
    char busIdLegacy[16];
    unsigned int domain, bus, device, pciDeviceId, pciSubSystemId;
    char busId[32];
} pci_t;
typedef struct {
    dev_t_ device;
    unsigned long long eventType, eventData;
    unsigned int gpuInstanceId, computeInstanceId;
} event_t;
typedef struct {
    dev_t_ device;
    unsigned int id, profileId, start, size;
} gi_info_t;

static void *lib;
static int failures;

#define CHECK(cond, ...)                          \
    do {                                          \
        if (cond) {                               \
            printf("ok " __VA_ARGS__);            \
        } else {                                  \
            printf("FAIL " __VA_ARGS__);          \
            failures++;                           \
        }                                         \
        printf("\n");                             \
    } while (0)

/* Resolve a symbol as go-nvml does; a missing one is a failure of the check that needs it. */
static void *sym(const char *name)
{
    dlerror();
    void *p = dlsym(lib, name);
    if (!p) {
        printf("FAIL symbol %s: %s\n", name, dlerror());
        failures++;
    }
    return p;
}

#define FN(type, name) ((type)sym(#name))
typedef ret_t (*f_void)(void);
typedef ret_t (*f_uintp)(unsigned int *);
typedef ret_t (*f_index)(unsigned int, dev_t_ *);
typedef ret_t (*f_text)(const char *, dev_t_ *);
typedef ret_t (*f_string)(dev_t_, char *, unsigned int);
typedef ret_t (*f_dev_uintp)(dev_t_, unsigned int *);
typedef ret_t (*f_pci)(dev_t_, pci_t *);
typedef ret_t (*f_set_create)(void **);
typedef ret_t (*f_register)(dev_t_, unsigned long long, void *);
typedef ret_t (*f_wait)(void *, event_t *, unsigned int);
typedef ret_t (*f_set)(void *);
typedef ret_t (*f_dev_index)(dev_t_, unsigned int, dev_t_ *);
typedef ret_t (*f_dev_devp)(dev_t_, dev_t_ *);
typedef ret_t (*f_pair)(dev_t_, unsigned int *, unsigned int *);
typedef ret_t (*f_gi_by_id)(dev_t_, unsigned int, void **);
typedef ret_t (*f_gi_info)(void *, gi_info_t *);
typedef const char *(*f_errstr)(ret_t);

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static dev_t_ device(unsigned int index)
{
    dev_t_ d = NULL;
    FN(f_index, nvmlDeviceGetHandleByIndex_v2)(index, &d);
    return d;
}

/* The versioned symbols go-nvml probes with dlsym after dlopen (lib.go's updateVersionedSymbols). */
static void check_symbols(void)
{
    const char *probed[] = {"nvmlInit_v2", "nvmlDeviceGetPciInfo_v3", "nvmlDeviceGetCount_v2",
                            "nvmlDeviceGetHandleByIndex_v2", "nvmlDeviceGetHandleByPciBusId_v2",
                            "nvmlDeviceGetNvLinkRemotePciInfo_v2", "nvmlEventSetWait_v2", "nvmlDeviceGetAttributes_v2",
                            "nvmlComputeInstanceGetInfo_v2", "nvmlDeviceGetComputeRunningProcesses_v3"};
    for (size_t i = 0; i < sizeof probed / sizeof *probed; i++)
        CHECK(dlsym(lib, probed[i]) != NULL, "versioned symbol %s", probed[i]);
    const char *unversioned[] = {"nvmlInit", "nvmlDeviceGetCount", "nvmlDeviceGetHandleByIndex",
                                 "nvmlDeviceGetPciInfo", "nvmlEventSetWait", "nvmlErrorString"};
    for (size_t i = 0; i < sizeof unversioned / sizeof *unversioned; i++)
        CHECK(dlsym(lib, unversioned[i]) != NULL, "unversioned symbol %s", unversioned[i]);
}

static void check_queries(void)
{
    f_void init = FN(f_void, nvmlInit_v2), shutdown = FN(f_void, nvmlShutdown);
    f_uintp count = FN(f_uintp, nvmlDeviceGetCount_v2);
    f_string name = FN(f_string, nvmlDeviceGetName), uuid = FN(f_string, nvmlDeviceGetUUID);
    f_errstr errstr = FN(f_errstr, nvmlErrorString);
    unsigned int n = 0;
    CHECK(count(&n) == 1, "a call before init answers UNINITIALIZED");
    CHECK(init() == 0 && init() == 0, "init twice");
    CHECK(count(&n) == 0 && n == 4, "count is 4 (%u)", n);
    CHECK(count(NULL) == 2, "a NULL output answers INVALID_ARGUMENT");
    dev_t_ d0 = device(0), again = device(0), d1 = device(1);
    CHECK(d0 && d0 == again && d0 != d1, "handles are stable per device and differ between devices");
    char id[96], text[96];
    CHECK(uuid(d0, id, sizeof id) == 0 && !strncmp(id, "GPU-", 4), "uuid %s", id);
    dev_t_ by_uuid = NULL;
    CHECK(FN(f_text, nvmlDeviceGetHandleByUUID)(id, &by_uuid) == 0 && by_uuid == d0, "by UUID: the same handle");
    CHECK(FN(f_text, nvmlDeviceGetHandleByUUID)("GPU-nope", &by_uuid) == 6, "an unknown UUID answers NOT_FOUND");
    CHECK(name(d0, text, sizeof text) == 0 && strstr(text, "H100"), "name %s", text);
    size_t exact = strlen(text) + 1;
    CHECK(name(d0, text, (unsigned int)exact) == 0, "a buffer of exactly the length plus NUL is enough");
    CHECK(name(d0, text, (unsigned int)exact - 1) == 7, "one byte short answers INSUFFICIENT_SIZE");
    CHECK(uuid(d0, text, 4) == 7, "a 4-byte UUID buffer answers INSUFFICIENT_SIZE");
    int garbage = 0;
    CHECK(name((dev_t_)&garbage, text, sizeof text) == 2, "a handle the library did not make answers INVALID_ARGUMENT");
    CHECK(name(NULL, text, sizeof text) == 2, "a NULL handle answers INVALID_ARGUMENT");
    pci_t pci;
    memset(&pci, 0x7f, sizeof pci);
    CHECK(FN(f_pci, nvmlDeviceGetPciInfo_v3)(d0, &pci) == 0 && !strncmp(pci.busId, "00000000:", 9) &&
              !strcmp(pci.busIdLegacy, pci.busId + 4) && pci.pciDeviceId == 0x233010DEu,
          "PCI info v3: %s (legacy %s)", pci.busId, pci.busIdLegacy);
    dev_t_ by_bus = NULL;
    CHECK(FN(f_text, nvmlDeviceGetHandleByPciBusId_v2)(pci.busId, &by_bus) == 0 && by_bus == d0,
          "by PCI bus id: the same handle");
    unsigned int minor = 99, cur = 9, pend = 9;
    CHECK(FN(f_dev_uintp, nvmlDeviceGetMinorNumber)(d1, &minor) == 0 && minor == 1, "minor number 1");
    CHECK(FN(f_pair, nvmlDeviceGetMigMode)(d0, &cur, &pend) == 0 && cur == 0 && pend == 0, "MIG mode off");
    CHECK(FN(f_dev_uintp, nvmlDeviceGetPowerUsage)(d0, &cur) == 3, "a stub answers NOT_SUPPORTED");
    CHECK(!strcmp(errstr(15), "GPU is lost") && !strcmp(errstr(3), "Not Supported"),
          "nvmlErrorString: %s, %s", errstr(15), errstr(3));
    CHECK(shutdown() == 0 && count(&n) == 0, "one shutdown of two inits keeps NVML up");
    CHECK(shutdown() == 0 && count(&n) == 1, "the last shutdown ends it: UNINITIALIZED");
    CHECK(shutdown() == 1, "a shutdown too many answers UNINITIALIZED");
}

static void *xid_set(dev_t_ d)
{
    void *set = NULL;
    FN(f_set_create, nvmlEventSetCreate)(&set);
    CHECK(FN(f_register, nvmlDeviceRegisterEvents)(d, 8ULL, set) == 0, "registered for XID events");
    return set;
}

static void check_wait(int wake)
{
    FN(f_void, nvmlInit_v2)();
    dev_t_ d2 = device(2);
    void *set = xid_set(d2);
    event_t e;
    memset(&e, 0, sizeof e);
    if (!wake) {
        double t0 = now_ms();
        ret_t rc = FN(f_wait, nvmlEventSetWait_v2)(set, &e, 200);
        double took = now_ms() - t0;
        CHECK(rc == 10 && took >= 190 && took < 2000, "a 200 ms wait with no event answers TIMEOUT (%d after %.0f ms)",
              rc, took);
    } else {
        printf("waiting\n");
        fflush(stdout);
        double t0 = now_ms();
        ret_t rc = FN(f_wait, nvmlEventSetWait_v2)(set, &e, 10000);
        double took = now_ms() - t0;
        CHECK(rc == 0 && e.eventType == 8 && e.eventData == 79 && e.device == d2,
              "an injected XID wakes the wait (rc %d, xid %llu, same handle %d, after %.1f ms)", rc, e.eventData,
              e.device == d2, took);
        CHECK(e.gpuInstanceId == 0xFFFFFFFFu && e.computeInstanceId == 0xFFFFFFFFu,
              "a whole-GPU XID carries no instance ids");
    }
    CHECK(FN(f_set, nvmlEventSetFree)(set) == 0, "event set freed");
    CHECK(FN(f_wait, nvmlEventSetWait_v2)(set, &e, 10) == 2, "a wait on a freed set answers INVALID_ARGUMENT");
    FN(f_void, nvmlShutdown)();
}

static void check_loss(void)
{
    FN(f_void, nvmlInit_v2)();
    void *set = xid_set(device(0));
    event_t e;
    printf("waiting\n");
    fflush(stdout);
    double t0 = now_ms();
    ret_t rc = FN(f_wait, nvmlEventSetWait_v2)(set, &e, 60000);
    double took = now_ms() - t0;
    CHECK(rc != 0 && rc != 10, "a wait ends with an error when the node goes away (rc %d after %.1f ms)", rc, took);
    unsigned int n;
    t0 = now_ms();
    rc = FN(f_uintp, nvmlDeviceGetCount_v2)(&n);
    took = now_ms() - t0;
    CHECK(rc == 999 && took < 1000, "later calls answer UNKNOWN at once (rc %d after %.1f ms)", rc, took);
    CHECK(FN(f_void, nvmlShutdown)() == 0, "shutdown still succeeds");
    CHECK(FN(f_void, nvmlInit_v2)() == 9, "init without a node answers DRIVER_NOT_LOADED");
}

static void check_mig(void)
{
    FN(f_void, nvmlInit_v2)();
    dev_t_ gpu = device(0), mig = NULL, again = NULL, parent = NULL;
    unsigned int max = 0, is_mig = 9, gi = 0, ci = 9;
    CHECK(FN(f_dev_uintp, nvmlDeviceGetMaxMigDeviceCount)(gpu, &max) == 0 && max == 7, "7 MIG devices at most");
    CHECK(FN(f_dev_index, nvmlDeviceGetMigDeviceHandleByIndex)(gpu, 0, &mig) == 0 && mig && mig != gpu,
          "MIG device 0 has its own handle");
    FN(f_dev_index, nvmlDeviceGetMigDeviceHandleByIndex)(gpu, 0, &again);
    CHECK(again == mig, "the same MIG device, the same handle");
    CHECK(FN(f_dev_index, nvmlDeviceGetMigDeviceHandleByIndex)(gpu, 2, &again) == 6, "past the last: NOT_FOUND");
    CHECK(FN(f_dev_uintp, nvmlDeviceIsMigDeviceHandle)(mig, &is_mig) == 0 && is_mig == 1, "it is a MIG handle");
    CHECK(FN(f_dev_devp, nvmlDeviceGetDeviceHandleFromMigDeviceHandle)(mig, &parent) == 0 && parent == gpu,
          "its parent is GPU 0's handle");
    CHECK(FN(f_dev_uintp, nvmlDeviceGetGpuInstanceId)(mig, &gi) == 0 &&
              FN(f_dev_uintp, nvmlDeviceGetComputeInstanceId)(mig, &ci) == 0 && ci == 0,
          "GPU instance %u, compute instance %u", gi, ci);
    void *instance = NULL;
    gi_info_t info;
    CHECK(FN(f_gi_by_id, nvmlDeviceGetGpuInstanceById)(gpu, gi, &instance) == 0 &&
              FN(f_gi_info, nvmlGpuInstanceGetInfo)(instance, &info) == 0 && info.device == gpu && info.id == gi,
          "GPU instance %u by id: its info names GPU 0 (profile %u, placement %u+%u)", gi, info.profileId,
          info.start, info.size);
    FN(f_void, nvmlShutdown)();
}

static void check_no_node(void)
{
    unsigned int n;
    CHECK(FN(f_void, nvmlInit_v2)() == 9, "init without a node answers DRIVER_NOT_LOADED");
    CHECK(FN(f_uintp, nvmlDeviceGetCount_v2)(&n) == 1, "then calls answer UNINITIALIZED");
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s LIBRARY symbols|queries|timeout|wake|loss|mig|no-node\n", argv[0]);
        return 2;
    }
    lib = dlopen(argv[1], RTLD_LAZY | RTLD_GLOBAL); /* go-nvml's flags */
    if (!lib) {
        printf("FAIL dlopen: %s\n", dlerror());
        return 1;
    }
    const char *check = argv[2];
    if (!strcmp(check, "symbols"))
        check_symbols();
    else if (!strcmp(check, "queries"))
        check_queries();
    else if (!strcmp(check, "timeout") || !strcmp(check, "wake"))
        check_wait(!strcmp(check, "wake"));
    else if (!strcmp(check, "loss"))
        check_loss();
    else if (!strcmp(check, "mig"))
        check_mig();
    else if (!strcmp(check, "no-node"))
        check_no_node();
    else
        return 2;
    return failures ? 1 : 0;
}
