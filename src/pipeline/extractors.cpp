#include "pipeline/extractors.h"

#include "features/classes.h"
#include "features/model_registry.h"
#include "features/onnx_model.h"

namespace photoatlas::pipeline {

std::vector<const features::Extractor*> Extractors::all() const {
  std::vector<const features::Extractor*> list = {raw.get()};
  if (cnn) list.push_back(cnn.get());
  if (classifier) list.push_back(classifier.get());
  return list;
}

Extractors make_extractors(const RunOptions& options, const RunObserver& observer) {
  const auto note = [&](const std::string& message) {
    if (observer.note) observer.note(message);
  };
  Extractors made;
  made.raw = std::make_unique<features::RawPixelExtractor>(features::RawPixelOptions{options.raw_size});
  if (options.cnn_model == "none" || options.cnn_model.empty()) return made;
  // A missing model costs the CNN map, not the run: the raw-pixel atlas is still worth having.
  try {
    features::CnnExtractorOptions cnn_options;
    cnn_options.layer = options.cnn_layer;
    cnn_options.l2_normalize = options.cnn_l2;
    features::NetworkSpec spec;
    spec.model = options.cnn_model;
    spec.nsfwjs_dir = options.nsfwjs_dir;
    spec.models_dir = options.models_dir;
    spec.input_size = options.cnn_input_size;
    if (options.cnn_mean.size() == 3) spec.mean = {options.cnn_mean[0], options.cnn_mean[1], options.cnn_mean[2]};
    if (options.cnn_std.size() == 3) spec.std = {options.cnn_std[0], options.cnn_std[1], options.cnn_std[2]};
    const std::shared_ptr<features::Network> network = features::load_network(spec);
    made.cnn = std::make_unique<features::CnnExtractor>(network, cnn_options);
    note("CNN features: " + made.cnn->id() + " (" + std::to_string(made.cnn->dims()) + " dimensions)");
    // An ImageNet classifier also names what is in each photo; one forward pass serves both.
    auto onnx = std::dynamic_pointer_cast<features::OnnxModel>(network);
    if (onnx && !onnx->class_layer().empty() && !onnx->labels().empty()) {
      onnx->share_layers({made.cnn->layer(), onnx->class_layer()});
      made.classifier = std::make_unique<features::ClassifierExtractor>(onnx);
      note("ImageNet classes from " + onnx->class_layer() + " (" + std::to_string(onnx->labels().size()) +
           " labels)");
    }
  } catch (const std::exception& e) {
    if (!options.cnn_layer.empty() || options.cnn_model != "inception_v3") throw;  // asked for explicitly
    note(std::string("warning: no CNN map: ") + e.what());
  }
  return made;
}

}  // namespace photoatlas::pipeline
