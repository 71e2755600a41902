/* Host-side helpers on segment lists, shared by both builds. */
#ifndef ANNEAL_RANGES_H
#define ANNEAL_RANGES_H

#include <algorithm>
#include <vector>

#include "anneal_kernels.h"

namespace anneal {

/** The union of `segs` as sorted, disjoint, non-empty ranges (selection is over the union). */
inline std::vector<anneal_range> merged_ranges(const anneal_range *segs, size_t nsegs) {
  std::vector<anneal_range> sorted;
  for (size_t s = 0; s < nsegs; ++s) {
    if (segs[s].length > 0) sorted.push_back(segs[s]);
  }
  std::sort(sorted.begin(), sorted.end(),
            [](const anneal_range &a, const anneal_range &b) { return a.offset < b.offset; });
  std::vector<anneal_range> merged;
  for (const anneal_range &r : sorted) {
    if (!merged.empty() && r.offset <= merged.back().offset + merged.back().length) {
      anneal_range &last = merged.back();
      last.length = std::max(last.offset + last.length, r.offset + r.length) - last.offset;
    } else {
      merged.push_back(r);
    }
  }
  return merged;
}

inline uint64_t total_length(const std::vector<anneal_range> &ranges) {
  uint64_t total = 0;
  for (const anneal_range &r : ranges) total += r.length;
  return total;
}

}  // namespace anneal

#endif  // ANNEAL_RANGES_H
