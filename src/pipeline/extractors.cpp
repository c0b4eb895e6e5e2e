#include "pipeline/extractors.h"

#include <functional>
#include <stdexcept>

#include "features/classes.h"
#include "features/model_registry.h"
#include "features/onnx_model.h"

namespace photoatlas::pipeline {

std::vector<const features::Extractor*> Extractors::all() const {
  std::vector<const features::Extractor*> list = {raw.get()};
  if (cnn) list.push_back(cnn.get());
  if (classifier) list.push_back(classifier.get());
  if (objects) list.push_back(objects.get());
  return list;
}

std::size_t Extractors::objects_index() const {
  return objects ? all().size() - 1 : 0;
}

namespace {

// COCO object tags: a missing model costs the tags, not the run, unless they were asked for.
void add_object_detector(const RunOptions& options, const std::function<void(const std::string&)>& note,
                         Extractors& made) {
  if (!options.objects) return;
  try {
    made.objects = std::make_unique<detect::ObjectExtractor>(detect::CenterNet::load(options.object_model_dir));
    note("object tags: " + made.objects->id());
  } catch (const std::exception& e) {
    if (options.objects_required) throw;
    note(std::string("no object tags: ") + e.what());
  }
}

}  // namespace

Extractors make_extractors(const RunOptions& options, const RunObserver& observer) {
  const auto note = [&](const std::string& message) {
    if (observer.note) observer.note(message);
  };
  Extractors made;
  made.raw = std::make_unique<features::RawPixelExtractor>(features::RawPixelOptions{options.raw_size});
  if (options.cnn_model == "none" || options.cnn_model.empty()) {
    add_object_detector(options, note, made);
    return made;
  }
  // Bad option values are errors, also for the default model (they are not a missing model).
  features::CnnExtractorOptions cnn_options;
  cnn_options.layer = options.cnn_layer;
  if (options.cnn_l2) cnn_options.normalization = features::CnnNormalization::L2;
  for (const auto n : {features::CnnNormalization::None, features::CnnNormalization::L2,
                       features::CnnNormalization::SignedSqrtL2})
    if (options.cnn_normalization == features::to_string(n)) cnn_options.normalization = n;
  if (!options.cnn_normalization.empty() && !cnn_options.normalization)
    throw std::invalid_argument("unknown CNN normalisation '" + options.cnn_normalization +
                                "' (none, l2 or sqrt-l2)");
  for (const auto p : {features::Pooling::Average, features::Pooling::Quadrants})
    if (options.cnn_pooling == features::to_string(p)) cnn_options.pooling = p;
  if (!options.cnn_pooling.empty() && !cnn_options.pooling)
    throw std::invalid_argument("unknown CNN pooling '" + options.cnn_pooling + "' (gap or quad)");
  for (const auto r : {features::InputRange::ZeroOne, features::InputRange::PlusMinusOne})
    if (options.cnn_input_range == features::to_string(r)) cnn_options.input_range = r;
  if (!options.cnn_input_range.empty() && !cnn_options.input_range)
    throw std::invalid_argument("unknown CNN input range '" + options.cnn_input_range + "' (01 or pm1)");
  // A missing model costs the CNN map, not the run: the raw-pixel atlas is still worth having.
  try {
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
  add_object_detector(options, note, made);
  return made;
}

}  // namespace photoatlas::pipeline
