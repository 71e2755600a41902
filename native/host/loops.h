/*
 * What the host device's loop files (loops.cpp, indexing.cpp) share: the largest rank a strided
 * op takes and the size below which an op stays on the calling thread.
 */
#ifndef ANNEAL_HOST_LOOPS_H
#define ANNEAL_HOST_LOOPS_H

#include <cstdint>

namespace anneal_host {

constexpr int kMaxRank = 6;

// Below this many values an op runs on the calling thread alone: waking OpenMP's threads costs
// 25-60 us a region on this VM, more than a small op's whole work (an MLP step ran 1.8x faster
// with the small ops serial).
constexpr int64_t kParallelMin = 1 << 15;

}  // namespace anneal_host

#endif /* ANNEAL_HOST_LOOPS_H */
