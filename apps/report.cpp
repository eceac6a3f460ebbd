// `strand report RUN_DIR`: the ten-rules page of a training run (report/report.h).
#include "report/report.h"

#include <cstdio>

#include "apps/commands.h"

namespace strand::apps {

void add_report_command(CLI::App& app) {
  auto run_dir = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand(
      "report", "One self-contained HTML page: the ten rules checked on a training run");
  cmd->footer(
      "Examples:\n"
      "  strand report strand-run                  # writes strand-run/report.html\n"
      "  strand report run1 -o run1-report.html\n"
      "Each section opens with a verdict (pass / warn / fail / not run), its reason and the\n"
      "command that produced it; a check that was not run names the command that would run it.");
  cmd->add_option("RUN_DIR", *run_dir, "A directory written by strand train --out")->required();
  cmd->add_option("-o,--out", *out, "The HTML file (default: RUN_DIR/report.html)");
  cmd->callback([run_dir, out] {
    const std::string path = out->empty() ? *run_dir + "/report.html" : *out;
    report::write_report(*run_dir, path);
    std::printf("wrote %s\n", path.c_str());
  });
}

}  // namespace strand::apps
