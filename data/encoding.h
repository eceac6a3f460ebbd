// Sequence encodings: u8 base codes (what the one-hot convolution fast path reads), float one-hot,
// and the reverse complement of each.
//
// The one IUPAC rule strand applies everywhere:
//   A, C, G, T (either case; lower case is soft-masking) -> codes 0, 1, 2, 3;
//   N and every other IUPAC letter (R Y S W K M B D H V, either case), '.' and '-' -> 4 "unknown";
//   any other character is an error that names the record and the 0-based position.
// U (RNA) is not accepted: it is not an IUPAC DNA letter.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace strand::data {

inline constexpr uint8_t kBaseA = 0;
inline constexpr uint8_t kBaseC = 1;
inline constexpr uint8_t kBaseG = 2;
inline constexpr uint8_t kBaseT = 3;
inline constexpr uint8_t kBaseUnknown = 4;
// base_code's answer for a character outside the IUPAC alphabet.
inline constexpr uint8_t kBaseInvalid = 255;
// Value of each of the four channels of an unknown base in the float one-hot encoding.
inline constexpr float kUnknownOneHot = 0.25f;

// Code of one character under the rule above (kBaseInvalid when it is not IUPAC).
uint8_t base_code(char c);

// Letter of a code: "ACGTN"[code].
char base_letter(uint8_t code);

// Complement of a code: A<->T, C<->G, unknown stays unknown (3 - code for 0..3).
inline uint8_t complement_code(uint8_t code) { return code < 4 ? uint8_t(3 - code) : code; }

// Encodes seq into out[0, seq.size()). A non-IUPAC character raises an error naming the record
// and position (position = offset + index in seq, 0-based, so a window names genome coordinates).
void encode_bases(std::string_view seq, uint8_t* out, std::string_view record, int64_t offset = 0);
std::vector<uint8_t> encode_bases(std::string_view seq, std::string_view record = "sequence");

// Text of codes ("ACGTN").
std::string decode_bases(const uint8_t* codes, int64_t n);

// Reverse complement of codes[0, n) into out (out may equal codes: works in place).
void reverse_complement_codes(const uint8_t* codes, int64_t n, uint8_t* out);
// Reverse complement of a text sequence; IUPAC letters map to their complements (R<->Y, ...),
// case kept.
std::string reverse_complement(std::string_view seq);

// ---- float one-hot ---------------------------------------------------------------------------
// Channels-first [4, n] (channel = code, position = column), the layout a Conv1d input [N, C, L]
// wants: out[c * n + i] = 1 when codes[i] == c; an unknown base is 0.25 in all four channels.
void one_hot(const uint8_t* codes, int64_t n, float* out);
std::vector<float> one_hot(const std::vector<uint8_t>& codes);
// Reverse complement of a [4, n] one-hot: positions reversed and channel c read from channel
// 3 - c (A,C,G,T is its own complement reversed). out must not alias in.
void reverse_complement_one_hot(const float* in, int64_t n, float* out);

}  // namespace strand::data
