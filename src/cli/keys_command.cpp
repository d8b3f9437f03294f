// `cairn keys new|show`: Ed25519 identities on disk.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "cli/app.h"
#include "crypto/keys.h"

namespace cairn::cli {

void RegisterKeysCommands(CLI::App* app, Command* command) {
  CLI::App* keys = app->add_subcommand("keys", "Create and inspect Ed25519 identity files");
  keys->require_subcommand(1);

  struct NewArgs {
    std::string out;
    bool force = false;
  };
  auto new_args = std::make_shared<NewArgs>();
  CLI::App* make = keys->add_subcommand("new", "Generate a key and write it to a 0600 file");
  make->add_option("--out", new_args->out, "Where to write the key file")->required();
  make->add_flag("--force", new_args->force, "Replace an existing key file");
  make->callback([command, new_args] {
    command->action = [new_args] {
      crypto::KeyPair key = crypto::KeyPair::Generate();
      Status s = crypto::WriteKeyFile(new_args->out, key, new_args->force);
      if (!s.ok()) return ReportError(s);
      std::printf("%s\n", key.public_key().ToHex().c_str());
      return kExitOk;
    };
  });

  auto show_path = std::make_shared<std::string>();
  CLI::App* show = keys->add_subcommand("show", "Print the public key of a key file");
  show->add_option("file", *show_path, "Key file")->required();
  show->callback([command, show_path] {
    command->action = [show_path] {
      auto key = crypto::ReadKeyFile(*show_path);
      if (!key.ok()) return ReportError(key.status());
      std::printf("%s\n", key->public_key().ToHex().c_str());
      return kExitOk;
    };
  });
}

}  // namespace cairn::cli
