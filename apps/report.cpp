// `strand report RUN_DIR`: the ten-rules page of a training run (report/report.h).
#include "report/report.h"

#include <cstdio>

#include "apps/commands.h"

namespace strand::apps {

void add_report_command(CLI::App& app) {
  auto in = std::make_shared<report::ReportInputs>();
  auto out = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand(
      "report", "One self-contained HTML page: the ten rules checked on a training run");
  cmd->footer(
      "Examples:\n"
      "  strand report strand-run                  # writes strand-run/report.html\n"
      "  strand report run1 -o run1-report.html\n"
      "  strand report run1 --tune tune1 --learning-curve curve1/learning_curve.json "
      "--interpret run1-motifs\n"
      "Each section opens with a verdict (pass / warn / fail / not run), its reason and the\n"
      "command that produced it; a check that was not run names the command that would run it.");
  cmd->add_option("RUN_DIR", in->run_dir, "A directory written by strand train --out")->required();
  cmd->add_option("-o,--out", *out, "The HTML file (default: RUN_DIR/report.html)");
  cmd->add_option("--tune", in->tune_dir, "Rule 6: a strand tune --out directory");
  cmd->add_option("--learning-curve", in->learning_curve,
                  "Rule 7: learning_curve.json of strand train --learning-curve");
  cmd->add_option("--interpret", in->interpret_dir,
                  "Rule 8: a strand interpret attributions/motifs/filters --out directory");
  cmd->callback([in, out] {
    const std::string path = out->empty() ? in->run_dir + "/report.html" : *out;
    report::write_report(*in, path);
    std::printf("wrote %s\n", path.c_str());
  });
}

}  // namespace strand::apps
