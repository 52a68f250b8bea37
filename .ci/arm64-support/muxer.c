/* A minimal arm64 `dotnet` host for vstest: it loads the libhostfxr.so that a self-contained
   publish of the tests carries (beside this program) and hands it the command line, as the real
   muxer does. vstest starts its test host through it (RunConfiguration.DotNetHostPath). */
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

typedef int (*hostfxr_main_fn)(int argc, const char **argv);

int main(int argc, const char **argv)
{
    char path[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", path, sizeof path - 32);
    if (n <= 0) { perror("readlink"); return 1; }
    path[n] = 0;
    strcpy(strrchr(path, '/') + 1, "libhostfxr.so");
    void *fxr = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
    if (!fxr) { fprintf(stderr, "%s\n", dlerror()); return 1; }
    hostfxr_main_fn run = (hostfxr_main_fn)dlsym(fxr, "hostfxr_main");
    if (!run) { fprintf(stderr, "%s\n", dlerror()); return 1; }
    return run(argc, argv);
}
