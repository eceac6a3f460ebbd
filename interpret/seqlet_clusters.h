// Seqlets clustered into motifs, TF-MoDISco-like: the similarity of a seqlet to a cluster is the
// best cosine, over shifts and both strands, between the seqlet's hypothetical contributions (its
// contributions when no hypothetical ones are given) and the cluster's aggregate; clusters grow
// greedily from the strongest seqlets, are refined by reassignment, merged when their aggregates
// align, and dropped below a minimum support; each is aggregated into a PWM (the aligned bases),
// a CWM (mean contributions) and a hypothetical CWM, trimmed to the columns whose mean
// contribution has the motif's sign. Members whose contribution over those columns has the other
// sign are dropped, and a cluster with no such column is no motif: every motif's contributions
// have its sign.
#pragma once

#include <string>
#include <vector>

#include "interpret/motif_compare.h"
#include "interpret/seqlets.h"

namespace strand::interpret {

struct ClusterOptions {
  int64_t max_shift = 10;    // positions a seqlet may slide to align with a cluster
  double join = 0.5;         // cosine for a seqlet to join a cluster
  double merge = 0.75;       // cosine for two clusters' aggregates to merge
  int64_t min_seqlets = 10;  // clusters with fewer members are dropped
  int refine_rounds = 3;
  double trim = 0.25;  // end columns whose signed CWM sum is below trim x the largest are cut
};

struct SeqletPlacement {
  int64_t seqlet = 0;  // index into the seqlets given
  int64_t start = 0;   // where the aligned window begins in the sequence
  char strand = '+';   // '-': the window read as its reverse complement
};

struct DiscoveredMotif {
  int sign = 1;          // +1: positive contributions, -1: negative
  Pwm ppm;               // base frequencies of the aligned members (trimmed)
  Pwm cwm;               // mean contributions (trimmed), [width][A, C, G, T]
  Pwm hypothetical_cwm;  // mean hypothetical contributions (empty without them)
  std::vector<SeqletPlacement> members;
  int64_t trim_begin = 0;  // the trimmed columns within the aligned window
};

// Motifs of each sign, largest first.
std::vector<DiscoveredMotif> cluster_seqlets(const AttributionTracks& tracks,
                                             const std::vector<Seqlet>& seqlets,
                                             const ClusterOptions& options = {});

}  // namespace strand::interpret
