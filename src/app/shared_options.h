// Command-line options that several subcommands take, registered in one place so that `run`,
// `features` (one shard) and `merge` (the shards' atlas) accept the same spellings and defaults.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "pipeline/pipeline.h"

namespace photoatlas::app {

// --objects / --no-objects as given (both false: on when the model files are installed).
struct ObjectFlags {
  bool on = false;
  bool off = false;
};

// What decides the feature vectors: --raw-size --model --layer --l2 --normalize --pooling
// --objects --no-objects.
void add_feature_options(CLI::App& app, pipeline::RunOptions& options, ObjectFlags& objects);

// What turns features into the maps: -k --clusterer --min-cluster-size --perplexity --iterations
// --pca --seed --title --keep-layout --ontology --object-threshold.
void add_map_options(CLI::App& app, pipeline::RunOptions& options, std::string& k_text);

// Applies what the option strings and flags say (k from "auto" or a number, object tags).
void apply_map_options(const std::string& k_text, pipeline::RunOptions& options);
void apply_object_flags(const ObjectFlags& objects, pipeline::RunOptions& options);

}  // namespace photoatlas::app
