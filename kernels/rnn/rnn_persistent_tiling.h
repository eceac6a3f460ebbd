// The persistent RNN kernels' tiling (rnn_persistent.cu), shared by the kernels and plain C++ so
// CPU tests emulate it: which block owns which hidden units, how a block's samples are tiled
// through shared memory, and which (unit, samples) each work item computes. A unit computed twice
// or never, or a shared-memory index past the tile, is found without a GPU.
#pragma once

#include <cstddef>

#include "kernels/rnn/rnn_detail.h"

namespace strand::kernels::detail {

struct PersistentTiling {
  int blocks_per_dir =
      0;  // blocks per direction, each owning `slice` hidden units (the last fewer)
  int slice = 0;
  int n_tile = 0;        // samples per shared-memory tile
  int nb = 1;            // samples per work item (register tile: 1 or 4)
  size_t w_bytes = 0;    // shared memory of the W_hh slice, 16-byte aligned
  size_t row_bytes = 0;  // shared memory of one sample's padded tile row
  size_t smem = 0;       // w_bytes + n_tile * row_bytes
  bool fits = false;     // false: W_hh's slice and one tile row do not fit on chip
};

// The tiling for `sms` multiprocessors and `max_smem` bytes of opt-in shared memory per block (as
// the device reports them). weight_bytes: 4 (f32) or 2 (bf16 bits). Co-residency (one block per
// SM at this shared memory) is the launcher's check.
PersistentTiling persistent_tiling(const RnnShape& s, size_t weight_bytes, bool backward, int sms,
                                   int max_smem);

// Block `block`'s direction and hidden units [j0, j0 + js).
struct PersistentBlock {
  int dir, j0, js;
};
STRAND_RNN_HD PersistentBlock persistent_block(int block, int blocks_per_dir, int slice, int H) {
  const int j0 = (block % blocks_per_dir) * slice;
  const int rest = H - j0;
  return {block / blocks_per_dir, j0, slice < rest ? slice : rest};
}

// A tile of nt samples is split into ngrp = ceil(nt / nb) groups; work item `item` computes unit
// jl of the block for the samples grp + bb * ngrp (bb < nb) that are below nt.
STRAND_RNN_HD int persistent_groups(int nt, int nb) { return (nt + nb - 1) / nb; }
STRAND_RNN_HD int persistent_item_unit(int item, int ngrp) { return item / ngrp; }
STRAND_RNN_HD int persistent_item_group(int item, int ngrp) { return item % ngrp; }
STRAND_RNN_HD int persistent_sample(int grp, int bb, int ngrp) { return grp + bb * ngrp; }

}  // namespace strand::kernels::detail
