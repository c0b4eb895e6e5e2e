// The feature extractors a run uses, made from its options: raw pixels always, the CNN and (for
// an ImageNet classifier) its class probabilities when asked for, the COCO object detector. Shared by `run`, the shard
// writer and merge, so a shard's features are the ones `run` would have computed.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "detect/objects.h"
#include "features/classes.h"
#include "features/cnn_extractor.h"
#include "features/raw_pixels.h"
#include "pipeline/pipeline.h"

namespace photoatlas::pipeline {

struct Extractors {
  std::unique_ptr<features::RawPixelExtractor> raw;
  std::unique_ptr<features::CnnExtractor> cnn;                // null without a CNN
  std::unique_ptr<features::ClassifierExtractor> classifier;  // null unless the CNN is an ImageNet classifier
  std::unique_ptr<detect::ObjectExtractor> objects;          // null without object tags
  std::vector<const features::Extractor*> all() const;        // raw, cnn, classifier, objects (those present), in that order
  std::size_t objects_index() const;                          // position of `objects` in all(); 0 when absent
};

// Throws when an explicitly requested model cannot be loaded; a missing default model costs only
// the CNN map (a warning through the observer).
Extractors make_extractors(const RunOptions& options, const RunObserver& observer);

}  // namespace photoatlas::pipeline
