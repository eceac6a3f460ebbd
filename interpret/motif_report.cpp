// Writing the motif commands' outputs.
#include "interpret/motif_report.h"

#include <cstdio>
#include <filesystem>
#include <sstream>

#include "core/error.h"
#include "data/meme.h"
#include "interpret/logo.h"
#include "runtime/file_io.h"

namespace strand::interpret {

std::string consensus_of(const Pwm& pwm) {
  std::string out;
  for (const auto& row : pwm) {
    int best = 0;
    for (int b = 1; b < 4; ++b)
      if (row[b] > row[best]) best = b;
    out += row[best] >= 0.5 ? "ACGT"[best] : "acgt"[best];
  }
  return out;
}

ReportFiles write_motif_report(const std::string& dir, const std::string& stem,
                               const std::vector<ReportedMotif>& motifs,
                               const MotifComparator* database, int64_t top) {
  STRAND_CHECK(top >= 1, "--top {} must be at least 1", top);
  std::error_code ec;
  std::filesystem::create_directories(dir + "/logos", ec);
  STRAND_CHECK(!ec, "cannot create '{}/logos': {}", dir, ec.message());
  ReportFiles files{dir + "/" + stem + ".meme", dir + "/matches.tsv", dir + "/" + stem + ".tsv",
                    dir + "/logos"};
  std::vector<data::Motif> plain;
  for (const auto& m : motifs) plain.push_back(m.motif);
  data::write_meme(files.meme, plain);

  std::ostringstream index, matches;
  char buf[256];
  index << "motif\twidth\tsites\tconsensus";
  if (!motifs.empty())
    for (const auto& [name, value] : motifs[0].columns) index << "\t" << name;
  index << "\tbest_match\tbest_match_name\tstrand\tp_value\tq_value\tlogo\n";
  matches << "motif\trank\ttarget\ttarget_name\tstrand\toffset\toverlap\tscore\tp_value\te_value"
             "\tq_value\n";
  for (const auto& r : motifs) {
    const data::Motif& m = r.motif;
    const std::string logo = "logos/" + m.name + ".svg";
    runtime::write_file_atomic(dir + "/" + logo, {logo_svg(m.pwm, m.name)});
    index << m.name << "\t" << m.pwm.size() << "\t" << static_cast<int64_t>(m.nsites) << "\t"
          << consensus_of(m.pwm);
    for (const auto& [name, value] : r.columns) index << "\t" << value;
    if (database && m.nsites > 0) {
      const auto found = database->compare(m.pwm);
      for (int64_t k = 0; k < std::min<int64_t>(top, static_cast<int64_t>(found.size())); ++k) {
        const MotifMatch& x = found[k];
        const data::Motif& t = database->database()[x.target];
        std::snprintf(buf, sizeof buf, "%s\t%lld\t%s\t%s\t%c\t%lld\t%lld\t%.4f\t%.4g\t%.4g\t%.4g\n",
                      m.name.c_str(), static_cast<long long>(k + 1), t.name.c_str(),
                      t.alt_name.c_str(), x.strand, static_cast<long long>(x.offset),
                      static_cast<long long>(x.overlap), x.score, x.p_value, x.e_value, x.q_value);
        matches << buf;
      }
      const MotifMatch& b = found[0];
      const data::Motif& t = database->database()[b.target];
      std::snprintf(buf, sizeof buf, "\t%s\t%s\t%c\t%.4g\t%.4g", t.name.c_str(), t.alt_name.c_str(),
                    b.strand, b.p_value, b.q_value);
      index << buf;
    } else {
      index << "\t\t\t\t\t";
    }
    index << "\t" << logo << "\n";
  }
  runtime::write_file_atomic(files.index, {index.str()});
  if (database) runtime::write_file_atomic(files.matches, {matches.str()});
  return files;
}

}  // namespace strand::interpret
