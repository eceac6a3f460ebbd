// OpenMP's wait policy for strand's programs.
//
// libgomp's default lets a thread waiting for the next parallel region spin (~300k iterations)
// before it sleeps. On an idle machine that hides the wake-up between regions; on an oversubscribed
// one the spinning threads take the time slices the working threads need. Measured on 2 cores at
// load average 11 (bench/RESULTS.md): a 2-thread Basset bf16 predict batch took 1.0 s of wall and
// 0.38 s of CPU with the default, 0.12 s and 0.06 s with OMP_WAIT_POLICY=PASSIVE (PyTorch, on the
// same libgomp default, 1.0 s). On an idle machine the default is ~10% faster.
//
// So when the user set neither OMP_WAIT_POLICY nor GOMP_SPINCOUNT and the 1-minute load average
// exceeds the CPUs this process may run on by more than one, strand's programs run with
// OMP_WAIT_POLICY=PASSIVE (the Python package sets it before loading the extension). libgomp reads
// its environment when it is loaded, before main, and glibc resets the environment after a
// .preinit_array function could set it, so main restarts the program once with it set.
// `strand info` prints the policy in effect.
#pragma once

#include <sched.h>
#include <unistd.h>

#include <cstdlib>

namespace strand {

inline bool passive_omp_wait_wanted() {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr || std::getenv("GOMP_SPINCOUNT") != nullptr)
    return false;
  double load = 0;
  cpu_set_t cpus;
  if (getloadavg(&load, 1) != 1 || sched_getaffinity(0, sizeof cpus, &cpus) != 0) return false;
  return load > CPU_COUNT(&cpus) + 1;
}

// First thing in main: restarts the program with OMP_WAIT_POLICY=PASSIVE when wanted (once: the
// restarted program finds it set). If the restart fails, the program runs on as it is.
inline void choose_omp_wait_policy(char** argv) {
  if (!passive_omp_wait_wanted()) return;
  setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
  execv("/proc/self/exe", argv);
  unsetenv("OMP_WAIT_POLICY");  // execv returned: it failed, and libgomp keeps its default
}

}  // namespace strand
