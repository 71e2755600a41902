/*
 * What the host device's loop files (loops.cpp, indexing.cpp) share: the largest rank a strided
 * op takes and the size below which an op stays on the calling thread.
 */
#ifndef ANNEAL_HOST_LOOPS_H
#define ANNEAL_HOST_LOOPS_H

#include <cstdint>

#include "element_rules.h"

namespace anneal_host {

constexpr int kMaxRank = anneal_rules::kMaxRank;

// Below this many values an op runs on the calling thread alone: waking OpenMP's threads costs
// 25-60 us a region on this VM, more than a second thread saves on a memory-bound op of that size
// (A/B on an idle machine: 2^17 against 2^15 took the MLP step from 4.1 to 3.2 ms at batch 256
// and from 2.3 to 2.1 at 64; the CNN's step did not change).
constexpr int64_t kParallelMin = 1 << 17;

}  // namespace anneal_host

#endif /* ANNEAL_HOST_LOOPS_H */
