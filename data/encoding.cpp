// The IUPAC rule as lookup tables, 2-bit packing and one-hot expansion.
#include "data/encoding.h"

#include <algorithm>
#include <array>

#include "core/error.h"

namespace strand::data {
namespace {

constexpr std::array<uint8_t, 256> make_code_table() {
  std::array<uint8_t, 256> t{};
  for (auto& v : t) v = kBaseInvalid;
  for (char c : std::string_view("RYSWKMBDHVNryswkmbdhvn.-"))
    t[static_cast<uint8_t>(c)] = kBaseUnknown;
  t['A'] = t['a'] = kBaseA;
  t['C'] = t['c'] = kBaseC;
  t['G'] = t['g'] = kBaseG;
  t['T'] = t['t'] = kBaseT;
  return t;
}
constexpr std::array<uint8_t, 256> kCodeTable = make_code_table();

constexpr std::array<char, 256> make_complement_table() {
  std::array<char, 256> t{};
  for (int i = 0; i < 256; ++i) t[i] = static_cast<char>(i);
  const std::string_view from = "ACGTRYSWKMBDHVNacgtryswkmbdhvn";
  const std::string_view to = "TGCAYRSWMKVHDBNtgcayrswmkvhdbn";
  for (size_t i = 0; i < from.size(); ++i) t[static_cast<uint8_t>(from[i])] = to[i];
  return t;
}
constexpr std::array<char, 256> kComplementTable = make_complement_table();

std::string describe_char(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (u >= 0x21 && u < 0x7f) return format("'{}'", c);
  const char* hex = "0123456789abcdef";
  return format("byte 0x{}{}", hex[u >> 4], hex[u & 15]);
}

}  // namespace

uint8_t base_code(char c) { return kCodeTable[static_cast<uint8_t>(c)]; }

char base_letter(uint8_t code) { return code < 5 ? "ACGTN"[code] : '?'; }

void encode_bases(std::string_view seq, uint8_t* out, std::string_view record, int64_t offset) {
  uint8_t bad = 0;
  for (size_t i = 0; i < seq.size(); ++i) {
    const uint8_t code = kCodeTable[static_cast<uint8_t>(seq[i])];
    out[i] = code;
    bad |= code & 0x80;  // branch-free in the hot loop; the slow path below finds the culprit
  }
  if (bad) {
    for (size_t i = 0; i < seq.size(); ++i) {
      STRAND_CHECK(out[i] != kBaseInvalid,
                   "record '{}' position {}: {} is not an IUPAC nucleotide letter (allowed: "
                   "ACGT, N, RYSWKMBDHV in either case, '.', '-')",
                   record, offset + static_cast<int64_t>(i), describe_char(seq[i]));
    }
  }
}

std::vector<uint8_t> encode_bases(std::string_view seq, std::string_view record) {
  std::vector<uint8_t> out(seq.size());
  encode_bases(seq, out.data(), record, 0);
  return out;
}

std::string decode_bases(const uint8_t* codes, int64_t n) {
  std::string s(static_cast<size_t>(n), 'N');
  for (int64_t i = 0; i < n; ++i) s[i] = base_letter(codes[i]);
  return s;
}

void reverse_complement_codes(const uint8_t* codes, int64_t n, uint8_t* out) {
  // Pairwise from both ends so that out == codes works.
  for (int64_t i = 0, j = n - 1; i <= j; ++i, --j) {
    const uint8_t a = complement_code(codes[i]);
    const uint8_t b = complement_code(codes[j]);
    out[i] = b;
    out[j] = a;
  }
}

std::string reverse_complement(std::string_view seq) {
  std::string out(seq.rbegin(), seq.rend());
  for (char& c : out) c = kComplementTable[static_cast<uint8_t>(c)];
  return out;
}

void one_hot(const uint8_t* codes, int64_t n, float* out) {
  std::fill(out, out + 4 * n, 0.0f);
  for (int64_t i = 0; i < n; ++i) {
    const uint8_t c = codes[i];
    if (c < 4) {
      out[c * n + i] = 1.0f;
    } else {
      STRAND_CHECK(c == kBaseUnknown, "one_hot: position {} holds {}, not a base code 0..4", i,
                   int(c));
      for (int k = 0; k < 4; ++k) out[k * n + i] = kUnknownOneHot;
    }
  }
}

std::vector<float> one_hot(const std::vector<uint8_t>& codes) {
  std::vector<float> out(4 * codes.size());
  one_hot(codes.data(), static_cast<int64_t>(codes.size()), out.data());
  return out;
}

void reverse_complement_one_hot(const float* in, int64_t n, float* out) {
  STRAND_CHECK(in != out || n == 0, "reverse_complement_one_hot: out must not alias in");
  for (int c = 0; c < 4; ++c) {
    const float* src = in + (3 - c) * n;
    float* dst = out + c * n;
    for (int64_t i = 0; i < n; ++i) dst[i] = src[n - 1 - i];
  }
}

}  // namespace strand::data
