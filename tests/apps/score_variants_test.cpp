// `strand score-variants` run as a user would: scores equal `strand predict` on the materialised
// REF and ALT windows, every planted REF mismatch is reported by line, bad input gives one line
// and a non-zero exit, and memory stays flat as the number of variants grows.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>

#include "data/fasta.h"
#include "layers/models.h"
#include "runtime/rng.h"
#include "tests/apps/run_cli.h"
#include "tests/data/temp_files.h"
#include "train/checkpoint.h"

namespace strand::apps {
namespace {

using cli_test::run_strand;
using data::testing::TempDir;
using data::testing::write_text;

constexpr int64_t kLength = 60;

// A model of length 60 saved as `strand train` would (Basset: the receptive-field fast path with a
// flatten + linear head; cnn-small: small enough to score 200k variants in seconds).
std::string save_model(const TempDir& dir, int64_t outputs, const std::string& kind,
                       const std::string& name = "basset") {
  runtime::manual_seed(11);
  train::ModelInfo info;
  info.name = name;
  info.length = kLength;
  info.outputs = outputs;
  info.kind = kind;
  for (int64_t t = 0; t < outputs; ++t) info.tasks.push_back("task" + std::to_string(t));
  auto model = train::build_model(info);
  const std::string path = dir.file("model.safetensors");
  train::save_model(path, *model, info, {});
  return path;
}

struct Genome {
  std::map<std::string, std::string> contigs;
  std::string path;
};

Genome make_genome(const TempDir& dir) {
  std::mt19937_64 rng(5);
  Genome g;
  std::vector<data::FastaRecord> records;
  for (auto [name, len] : {std::pair<std::string, int>{"chr1", 400}, {"chr2", 150}}) {
    std::string s(len, 'A');
    for (auto& c : s) c = "ACGT"[rng() % 4];
    g.contigs[name] = s;
    records.push_back({name, s});
  }
  g.path = dir.file("genome.fa");
  data::write_fasta(g.path, records);
  return g;
}

const std::string kHeader =
    "##fileformat=VCFv4.2\n##contig=<ID=chr1,length=400>\n##contig=<ID=chr2,length=150>\n"
    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n";

std::string record(const std::string& chrom, int64_t pos1, const std::string& id,
                   const std::string& ref, const std::string& alt) {
  return chrom + "\t" + std::to_string(pos1) + "\t" + id + "\t" + ref + "\t" + alt + "\t.\t.\t.\n";
}

char other(char b) { return b == 'A' ? 'G' : 'A'; }

// The windows variants.h describes, built here independently: N past the contig ends.
std::string window(const std::string& s, int64_t begin, int64_t n) {
  std::string w;
  for (int64_t i = begin; i < begin + n; ++i)
    w += i >= 0 && i < static_cast<int64_t>(s.size()) ? s[i] : 'N';
  return w;
}

std::vector<std::vector<std::string>> read_tsv(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::vector<std::string>> rows;
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    std::stringstream ss(line);
    std::string x;
    while (std::getline(ss, x, '\t')) f.push_back(x);
    rows.push_back(f);
  }
  return rows;
}

int count_lines(const std::string& s) {
  return static_cast<int>(std::count(s.begin(), s.end(), '\n'));
}

TEST(ScoreVariantsCli, EqualsPredictOnMaterialisedWindowsAndFlagsEveryMismatch) {
  TempDir dir;
  const std::string model = save_model(dir, 2, "multi-label");
  const Genome g = make_genome(dir);
  const std::string& c1 = g.contigs.at("chr1");
  const std::string& c2 = g.contigs.at("chr2");
  // SNVs (one at each contig end), a multi-allelic SNV, an MNV, a deletion, an insertion, and
  // planted REF mismatches on lines 8, 13 and 15 (the header is lines 1-4).
  std::string vcf = kHeader;
  vcf += record("chr1", 200, "snv", std::string(1, c1[199]), std::string(1, other(c1[199])));
  vcf += record("chr1", 1, "first", std::string(1, c1[0]), std::string(1, other(c1[0])));
  vcf += record("chr1", 400, "last", std::string(1, c1[399]), std::string(1, other(c1[399])));
  vcf += record("chr2", 30, "bad1", std::string(1, other(c2[29])), "T");
  std::string multi = std::string(1, other(c2[69])) + "," + (c2[69] == 'C' ? "T" : "C");
  vcf += record("chr2", 70, "multi", std::string(1, c2[69]), multi);
  vcf += record("chr1", 100, "mnv", c1.substr(99, 2), std::string(1, other(c1[99])) + "T");
  vcf += record("chr1", 150, "del", c1.substr(149, 4), c1.substr(149, 1));
  vcf += record("chr1", 390, "ins", c1.substr(389, 1), c1.substr(389, 1) + "GATTACA");
  vcf += record("chr1", 50, "bad2", c1.substr(49, 2) == "AA" ? "CC" : "AA", "A");
  vcf += record("chr2", 5, "nothing", std::string(1, c2[4]), ".");
  vcf += record("chr2", 150, "bad3", std::string(1, other(c2[149])), "C");
  write_text(dir.file("v.vcf"), vcf);

  for (const std::string rc : {"", " --rc-average"}) {
    const auto r = run_strand("score-variants --vcf v.vcf --genome genome.fa --model " + model +
                                  " --ref-mismatch skip --out scores.tsv" + rc,
                              dir.path());
    ASSERT_EQ(r.status, 0) << r.output;
    for (const char* line : {"line 8:", "line 13:", "line 15:"})
      EXPECT_NE(r.output.find(std::string("'v.vcf' ") + line), std::string::npos) << line << "\n"
                                                                                  << r.output;
    EXPECT_NE(r.output.find("3 REF mismatches skipped"), std::string::npos) << r.output;
    const auto rows = read_tsv(dir.file("scores.tsv"));
    ASSERT_EQ(rows.size(), 9u);  // header + 8 (variant, ALT) rows
    EXPECT_EQ(rows[0][5], "task0:ref");

    // The same windows written out and scored by `strand predict`.
    std::vector<data::FastaRecord> windows;
    for (size_t i = 1; i < rows.size(); ++i) {
      const auto& f = rows[i];
      const std::string& s = g.contigs.at(f[0]);
      const int64_t pos = std::stoll(f[1]) - 1, begin = pos - kLength / 2;
      std::string alt = window(s, begin, kLength / 2) + f[4];
      alt += window(s, pos + static_cast<int64_t>(f[3].size()), kLength);
      windows.push_back({"r" + std::to_string(i), window(s, begin, kLength)});
      windows.push_back({"a" + std::to_string(i), alt.substr(0, kLength)});
    }
    data::write_fasta(dir.file("windows.fa"), windows);
    const auto p = run_strand(
        "predict --model " + model + " --fasta windows.fa --out pred.tsv" + rc, dir.path());
    ASSERT_EQ(p.status, 0) << p.output;
    const auto pred = read_tsv(dir.file("pred.tsv"));
    ASSERT_EQ(pred.size(), 1 + windows.size());
    for (size_t i = 1; i < rows.size(); ++i)
      for (int t = 0; t < 2; ++t) {
        const double ref = std::stod(rows[i][5 + 4 * t]), alt = std::stod(rows[i][6 + 4 * t]);
        const double pr = std::stod(pred[2 * i - 1][1 + t]), pa = std::stod(pred[2 * i][1 + t]);
        EXPECT_NEAR(ref, pr, 1e-6) << rows[i][2] << " task " << t << rc;
        EXPECT_NEAR(alt, pa, 1e-6) << rows[i][2] << " task " << t << rc;
        EXPECT_NEAR(std::stod(rows[i][7 + 4 * t]), alt - ref, 1e-6);
        EXPECT_NEAR(std::stod(rows[i][8 + 4 * t]), std::log2(alt / ref), 1e-5);
      }
  }
  // The same from a bgzip-compressed VCF.
  data::testing::write_bgzip(dir.file("v.vcf.gz"), vcf);
  const auto gz = run_strand("score-variants --vcf v.vcf.gz --genome genome.fa --model " + model +
                                 " --ref-mismatch skip --out gz.tsv",
                             dir.path());
  ASSERT_EQ(gz.status, 0) << gz.output;
  run_strand("score-variants --vcf v.vcf --genome genome.fa --model " + model +
                 " --ref-mismatch skip --out plain.tsv",
             dir.path());
  // Equal up to float rounding (the CPU conv algorithm is chosen per shape by timing).
  const auto from_gz = read_tsv(dir.file("gz.tsv")), from_plain = read_tsv(dir.file("plain.tsv"));
  ASSERT_EQ(from_gz.size(), from_plain.size());
  for (size_t i = 1; i < from_gz.size(); ++i)
    for (size_t j = 5; j < from_gz[i].size(); ++j)
      EXPECT_NEAR(std::stod(from_gz[i][j]), std::stod(from_plain[i][j]), 1e-6);
  // Failing on the first mismatch (the default).
  const auto f =
      run_strand("score-variants --vcf v.vcf --genome genome.fa --model " + model + " --out s.tsv",
                 dir.path());
  EXPECT_EQ(f.status, 1);
  EXPECT_EQ(count_lines(f.output), 1) << f.output;
  EXPECT_NE(f.output.find("line 8: REF"), std::string::npos) << f.output;
  EXPECT_FALSE(std::filesystem::exists(dir.file("s.tsv"))) << "no partial table left behind";
  EXPECT_FALSE(std::filesystem::exists(dir.file("s.tsv.partial")));
}

// --ref-mismatch swap: alleles given the other way round (ALT is the genome's) are scored with
// REF and ALT swapped, exactly as the variant written the right way; a REF matching neither is
// skipped and reported.
TEST(ScoreVariantsCli, SwapScoresFlippedAllelesAsTheRightOrientation) {
  TempDir dir;
  const std::string model = save_model(dir, 2, "multi-label");
  const Genome g = make_genome(dir);
  const std::string& c1 = g.contigs.at("chr1");
  const std::string b = std::string(1, c1[199]), o = std::string(1, other(c1[199]));
  std::string neither = "A";
  for (const char* x : {"A", "C", "G", "T"})
    if (x != b && x != o) neither = x;
  std::string vcf = kHeader;
  vcf += record("chr1", 200, "right", b, o);
  vcf += record("chr1", 200, "flipped", o, b);
  vcf += record("chr1", 200, "neither", neither, o);
  write_text(dir.file("v.vcf"), vcf);
  const auto r = run_strand("score-variants --vcf v.vcf --genome genome.fa --model " + model +
                                " --ref-mismatch swap --out s.tsv",
                            dir.path());
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("line 6: REF"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("REF and ALT swapped"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("line 7: REF"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("1 REF mismatches skipped, 1 REF/ALT swapped"), std::string::npos)
      << r.output;
  const auto rows = read_tsv(dir.file("s.tsv"));
  ASSERT_EQ(rows.size(), 3u);  // header, right, flipped
  EXPECT_EQ(rows[2][2], "flipped");
  EXPECT_EQ(rows[2][3], b);
  EXPECT_EQ(rows[2][4], o);
  for (size_t j = 5; j < rows[1].size(); ++j)
    EXPECT_NEAR(std::stod(rows[1][j]), std::stod(rows[2][j]), 1e-6) << rows[0][j];
}

// --task keeps only the named outputs' columns, in the order given, with the full run's values
// (to rounding: each run times its own CPU kernel choices per shape, which may differ between the
// two runs); an unknown name is refused naming the model's outputs.
TEST(ScoreVariantsCli, TaskSelectsColumns) {
  TempDir dir;
  const std::string model = save_model(dir, 3, "multi-label");
  const Genome g = make_genome(dir);
  const std::string& c1 = g.contigs.at("chr1");
  std::string vcf = kHeader;
  for (int64_t pos : {150, 200, 260})
    vcf += record("chr1", pos, "v" + std::to_string(pos), std::string(1, c1[pos - 1]),
                  std::string(1, other(c1[pos - 1])));
  write_text(dir.file("v.vcf"), vcf);
  const std::string base = "score-variants --vcf v.vcf --genome genome.fa --model " + model;
  ASSERT_EQ(run_strand(base + " --out all.tsv", dir.path()).status, 0);
  const auto r = run_strand(base + " --task task2 --task task0 --out some.tsv", dir.path());
  ASSERT_EQ(r.status, 0) << r.output;
  const auto all = read_tsv(dir.file("all.tsv")), some = read_tsv(dir.file("some.tsv"));
  ASSERT_EQ(some.size(), all.size());
  ASSERT_EQ(some[0].size(), 5u + 2 * 4);
  EXPECT_EQ(some[0][5], "task2:ref");
  EXPECT_EQ(some[0][9], "task0:ref");
  for (size_t i = 0; i < all.size(); ++i)
    for (size_t j = 0; j < 4; ++j) {
      const auto near = [&](size_t a, size_t b) {
        if (i == 0) {
          EXPECT_EQ(some[i][a], all[i][b]);  // the header
        } else {
          EXPECT_NEAR(std::stod(some[i][a]), std::stod(all[i][b]), 1e-6) << "row " << i;
        }
      };
      near(5 + j, 5 + 2 * 4 + j);
      near(9 + j, 5 + j);
    }
  const auto bad = run_strand(base + " --task nope --out bad.tsv", dir.path());
  EXPECT_NE(bad.status, 0);
  EXPECT_NE(bad.output.find("nope"), std::string::npos) << bad.output;
}

TEST(ScoreVariantsCli, BadInputGivesOneLineAndNonZeroExit) {
  TempDir dir;
  const std::string model = save_model(dir, 1, "binary");
  const Genome g = make_genome(dir);
  const std::string ok = record("chr1", 20, ".", std::string(1, g.contigs.at("chr1")[19]), "A");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {record("chr1", 20, ".", "A", "C"), "starts with a ##fileformat=VCF header line"},
      {kHeader + ok + record("chr1", 30, ".", "A", "<DEL>"), "line 6: symbolic ALT allele '<DEL>'"},
      {kHeader + record("chrX", 30, ".", "A", "C"), "line 5: contig 'chrX' is not in the genome"},
      {"##fileformat=VCFv4.2\n##contig=<ID=1>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n" +
           record("1", 3, ".", "A", "C"),
       "none of the 1 contigs"},
      {kHeader + "chr1\tabc\t.\tA\tC\t.\t.\t.\n", "line 5: malformed VCF record: POS 'abc'"},
      {kHeader + ok + "chr1\t7\t.\tA\n", "line 6: malformed VCF record: 4 tab-separated columns"},
      {kHeader + record("chr1", 7, ".", "AZ", "A"), "line 5: REF 'AZ'"},
      {kHeader + record("chr1", 7, ".", "A", "C,<*>"), "line 5: symbolic ALT allele '<*>'"},
      {"##fileformat=VCFv4.2\n", "has no #CHROM header line"},
  };
  for (const auto& [text, expected] : cases) {
    write_text(dir.file("bad.vcf"), text);
    const auto r = run_strand(
        "score-variants --vcf bad.vcf --genome genome.fa --model " + model + " --out s.tsv",
        dir.path());
    EXPECT_NE(r.status, 0) << expected;
    EXPECT_EQ(count_lines(r.output), 1) << r.output;
    EXPECT_NE(r.output.find(expected), std::string::npos) << r.output;
  }
  write_text(dir.file("ok.vcf"), kHeader + ok);
  const auto w = run_strand("score-variants --vcf ok.vcf --genome genome.fa --model " + model +
                                " --window 100 --out s.tsv",
                            dir.path());
  EXPECT_NE(w.status, 0);
  EXPECT_EQ(count_lines(w.output), 1) << w.output;
  EXPECT_NE(w.output.find("--window 100 is larger than the model's input length 60"),
            std::string::npos)
      << w.output;
}

// Max RSS (kB) of one `strand` run, from the kernel's accounting of that child alone.
long max_rss_kb(const std::vector<std::string>& args) {
  const pid_t pid = fork();
  if (pid == 0) {
    std::vector<char*> argv = {const_cast<char*>(STRAND_CLI_PATH)};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    const int null = ::open("/dev/null", O_WRONLY);
    dup2(null, 1);
    dup2(null, 2);
    execv(STRAND_CLI_PATH, argv.data());
    _exit(127);
  }
  int status = 0;
  struct rusage usage {};
  wait4(pid, &status, 0, &usage);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  return usage.ru_maxrss;
}

TEST(ScoreVariantsCli, MemoryStaysFlatFrom20kTo200kVariants) {
  TempDir dir;
  const std::string model = save_model(dir, 8, "multi-label", "cnn-small");
  const Genome g = make_genome(dir);
  const std::string& c1 = g.contigs.at("chr1");
  std::mt19937_64 rng(3);
  auto write_vcf = [&](const std::string& name, int n) {
    std::ofstream out(dir.file(name));
    out << kHeader;
    for (int i = 0; i < n; ++i) {
      const int64_t pos = static_cast<int64_t>(rng() % 400);
      out << "chr1\t" << pos + 1 << "\t.\t" << c1[pos] << '\t' << other(c1[pos]) << "\t.\t.\t.\n";
    }
  };
  write_vcf("small.vcf", 20000);
  write_vcf("large.vcf", 200000);
  auto run = [&](const std::string& vcf) {
    return max_rss_kb({"score-variants", "--vcf", dir.file(vcf), "--genome", g.path, "--model",
                       model, "--out", "/dev/null"});
  };
  const long small = run("small.vcf"), large = run("large.vcf");
  // Kept in memory, 180k more rows of 8 tasks would be > 50 MB of text alone.
  EXPECT_LT(large, small + 16 * 1024)
      << "max RSS " << small << " kB for 20k variants, " << large << " kB for 200k";
}

}  // namespace
}  // namespace strand::apps
