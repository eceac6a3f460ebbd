// `strand export`: copies a model's weights out for PyTorch / safetensors users, behind the
// Rule 10 guard (a model trained on sensitive data without DP needs --override-privacy, logged).
#include "train/export.h"

#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "apps/commands.h"

namespace strand::apps {

void add_export_command(CLI::App& app) {
  struct Args {
    std::string model, out;
    train::ExportOptions options;
    bool json = false;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand(
      "export", "Copy a model's weights out (PyTorch state_dict names, safetensors)");
  cmd->footer(
      "Examples:\n"
      "  strand export --model run1/model.safetensors --out cnn.safetensors\n"
      "  strand export --model run1/model.safetensors --out cnn.safetensors --format pytorch\n"
      "A model trained with --sensitive and without --dp is refused (Rule 10: do not share\n"
      "models trained on sensitive data); --override-privacy \"reason\" exports it anyway and\n"
      "appends the reason to OUT.privacy-override.jsonl.");
  cmd->add_option("--model", a->model, "A strand model.safetensors")->required();
  cmd->add_option("--out", a->out, "Output safetensors file")->required();
  cmd->add_option("--format", a->options.format,
                  "safetensors, or pytorch (also writes OUT.load.py, a loading note)")
      ->capture_default_str();
  cmd->add_option("--override-privacy", a->options.override_privacy,
                  "Export a model the privacy guard refuses, for this stated reason (logged)");
  cmd->add_flag("--json", a->json, "Machine-readable output");
  cmd->callback([a] {
    const auto r = train::export_model(a->model, a->out, a->options, std::cerr);
    if (a->json) {
      std::cout << nlohmann::json{{"files", r.files},
                                  {"privacy", r.privacy.to_json()},
                                  {"overridden", r.overridden},
                                  {"audit_log", r.audit_log}}
                       .dump()
                << "\n";
      return;
    }
    for (const auto& f : r.files) std::cout << "wrote " << f << "\n";
  });
}

}  // namespace strand::apps
