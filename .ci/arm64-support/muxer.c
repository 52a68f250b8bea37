/* A minimal arm64 `dotnet` host for vstest: it loads the libhostfxr.so that a self-contained
   publish of the tests carries (path in XLMEDGE_HOSTFXR) and hands it the command line, as the real
   muxer does. vstest starts its test host through it (RunConfiguration.DotNetHostPath). It must not
   sit beside libhostpolicy.so: hostfxr would then take it for an app host and "exec" for the app. */
#include <stdlib.h>
#include <dlfcn.h>
#include <stdio.h>

typedef int (*hostfxr_main_fn)(int argc, const char **argv);

int main(int argc, const char **argv)
{
    const char *path = getenv("XLMEDGE_HOSTFXR");
    if (!path) { fprintf(stderr, "XLMEDGE_HOSTFXR (path of libhostfxr.so) is not set\n"); return 1; }
    void *fxr = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
    if (!fxr) { fprintf(stderr, "%s\n", dlerror()); return 1; }
    hostfxr_main_fn run = (hostfxr_main_fn)dlsym(fxr, "hostfxr_main");
    if (!run) { fprintf(stderr, "%s\n", dlerror()); return 1; }
    return run(argc, argv);
}
