// Builders for the published genomic models, parameterised by input length and number of outputs
// (logits: the sigmoid or softmax belongs to the loss), with PyTorch-compatible parameter names.
// Input: DNA as base codes (u8 [N, L]) or one-hot (f32 [N, 4, L]).
//   DeepSEA (Zhou & Troyanskaya 2015): 3 conv layers (320/480/960 filters, k8), max pooling 4,
//     dropout 0.2/0.2/0.5, dense 925.
//   Basset (Kelley et al. 2016): conv 300 k19 / 200 k11 / 200 k7 with normalisation, max pooling
//     3/4/4, two dense layers of 1000 with dropout 0.3. Norm: BatchNorm1d as published, or
//     GroupNorm (per example, so usable with DP-SGD).
//   DanQ (Quang & Xie 2016): conv 320 k26, max pooling 13, dropout 0.2, BiLSTM 320, dropout 0.5,
//     dense 925.
//   cnn (strand's default, for aligned and unaligned tasks alike): a same-padded conv block (64
//     filters, k11, max pooling 4), then three heads whose logits add (SumOfBranches), trained
//     jointly: a position-keeping head (flatten, dropout 0.5, a linear read-out of every filter
//     at every 4 bp bin) that sees where and on which strand a motif sits; a pooled head (conv
//     128 k7, max pool 4, conv 128 k5, global max pool, dense 64, dropout 0.3) for patterns,
//     pairs and spacings anywhere; and a presence head (global max of each first-block filter,
//     dense 32) for motif presence and AND/OR grammars. The position head is left out of the
//     sum for half of the training examples (branch dropout), so the position-invariant heads
//     must learn on their own. The sum is a learned combination; nothing is chosen on test (see
//     README, Rule 5).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "layers/sequential.h"

namespace strand::layers {

enum class NormKind { kBatch, kGroup };

std::shared_ptr<Sequential> deepsea(int64_t input_length = 1000, int64_t outputs = 919);
std::shared_ptr<Sequential> basset(int64_t input_length = 600, int64_t outputs = 164,
                                   NormKind norm = NormKind::kBatch);
std::shared_ptr<Sequential> danq(int64_t input_length = 1000, int64_t outputs = 919);
// exact_head ("cnn-aligned"): the cnn plus an exact-position head beside it, whose logits add
// (32 k9 filters, ReLU, mixed into 4 tracks, a linear read-out of every track at every position,
// no pooling: a site that counts only at its exact offset). `strand train` picks it by default
// when the data look aligned.
std::shared_ptr<Sequential> default_cnn(int64_t input_length, int64_t outputs,
                                        bool exact_head = false);
// cnn-small: two same-padded conv blocks (32 filters, k15 / k7, max pooling 4) and a global max
// pool before one dense layer: ~9k parameters, position-invariant. For DP-SGD, whose noise grows
// with the parameter count, it learns where the default CNN drowns.
std::shared_ptr<Sequential> small_cnn(int64_t input_length, int64_t outputs);

// By name: "deepsea", "basset", "basset-groupnorm", "danq" or "cnn", or a YAML model file (a name
// ending in .yaml/.yml, see model_file.h); an unknown name is an error listing these.
std::shared_ptr<Sequential> build_model(const std::string& name, int64_t input_length,
                                        int64_t outputs);
std::vector<std::string> model_names();

}  // namespace strand::layers
