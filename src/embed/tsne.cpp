// The t-SNE optimisation loop: affinities (exact or HNSW neighbours), exact or FFT gradient,
// openTSNE's schedule.
#include "embed/tsne.h"

#include <algorithm>
#include <cmath>

#include "core/parallel.h"
#include "core/worker_team.h"
#include "embed/affinity.h"
#include "embed/tsne_detail.h"

namespace photoatlas::embed {

struct Tsne::State {
  TsneOptions options;
  int threads = 1;
  int gradient_threads = 1;  // threads for the per-iteration work
  SparseMatrix p;                   // in the optimisation's point order
  std::vector<std::uint32_t> order;  // internal point k = input point order[k] (empty: identity)
  detail::Embedding2D y;
  detail::Embedding2D gradient;
  detail::GradientDescent optimiser;
  bool fft = false;
  bool split = false;                   // Split, or Auto choosing per iteration among exact / plain / split
  mutable detail::FftRepulsion engine;  // plans and buffers reused across iterations
  detail::SplitRepulsion plain_engine, split_engine;  // R = 0 and R = near_radius (each keeps its grid)
  mutable detail::SplitRepulsion kl_engine;           // Z for kl_divergence()
  std::unique_ptr<WorkerTeam> team;                   // the split engines' threads, for the whole run
  std::vector<int> engine_counts = std::vector<int>(3, 0);  // iterations run by exact, plain, split
  int iteration = 0;
};

Tsne::Tsne(const FloatMatrix& data, const TsneOptions& options) : state_(new State) {
  State& s = *state_;
  s.options = options;
  s.threads = resolve_threads(options.num_threads);
  // Below ~1500 points an exact iteration is ~0.1-0.5 ms of work, comparable to starting and
  // joining the workers (parallel_for spawns threads per call), so the loop runs on one thread
  // there. The exact engine's result does not depend on the thread count anyway.
  s.gradient_threads = data.rows < 1500 ? 1 : s.threads;
  const std::size_t n = data.rows;
  if (n >= 2) {
    AffinityOptions affinity;
    affinity.perplexity = options.perplexity;
    affinity.num_threads = s.threads;
    affinity.neighbours = options.neighbours;
    s.p = compute_affinities(data, affinity);
  }
  // One point has nothing to be placed against: it stays at the origin.
  if (n >= 2) {
    s.y = detail::initial_embedding(data, options);
  } else {
    s.y.zero(n);
  }
  // The optimisation runs in a locality order of P (see detail::locality_order); embedding()
  // returns the input order.
  if (n >= 2) {
    s.order = detail::locality_order(s.p);
    s.p = detail::permuted(s.p, s.order);
    detail::Embedding2D start;
    start.zero(n);
    for (std::size_t k = 0; k < n; ++k) start.x[k] = s.y.x[s.order[k]], start.y[k] = s.y.y[s.order[k]];
    s.y = std::move(start);
  }
  const double exaggeration = options.early_exaggeration > 0.0 ? options.early_exaggeration : 1.0;
  s.optimiser.learning_rate = options.learning_rate > 0.0
                                  ? options.learning_rate
                                  : std::max(static_cast<double>(n) / exaggeration, 50.0);  // Belkina et al. 2019
  s.optimiser.min_gain = options.min_gain;
  s.optimiser.max_step_norm = options.max_step_norm;
  s.optimiser.reset(n);
  const bool split_possible = options.degrees_of_freedom == 1.0 && detail::split_vector_path();
  s.split = options.gradient == TsneGradient::Split ||
            (options.gradient == TsneGradient::Auto && split_possible && n <= options.split_max_n);
  s.fft = options.gradient == TsneGradient::Fft || (options.gradient == TsneGradient::Auto && n > options.exact_max_n);
  detail::InterpolationOptions interpolation;
  interpolation.points_per_interval =
      options.interpolation_points > 0 ? options.interpolation_points : (n < 200000 ? 4 : 3);
  interpolation.min_intervals = std::max(1, options.min_intervals);
  interpolation.intervals_per_unit = options.intervals_per_unit;
  s.engine = detail::FftRepulsion(interpolation);
}

Tsne::~Tsne() { delete state_; }
Tsne::Tsne(Tsne&& other) noexcept : state_(other.state_) { other.state_ = nullptr; }
Tsne& Tsne::operator=(Tsne&& other) noexcept {
  if (this != &other) {
    delete state_;
    state_ = other.state_;
    other.state_ = nullptr;
  }
  return *this;
}

namespace {

WorkerTeam* team_of(Tsne::State& s) {
  if (!s.team) s.team = std::make_unique<WorkerTeam>(std::min(s.gradient_threads, 8));
  return s.team.get();
}

// One iteration's gradient through the split-kernel engines: Split = always the near/far split;
// Auto = the cheapest of exact, plain interpolation and split by TsneOptions' cost model (a
// deterministic function of the embedding, so the run stays reproducible).
void split_gradient(Tsne::State& s, double exaggeration) {
  const TsneOptions& o = s.options;
  const double n = static_cast<double>(s.y.size());
  detail::SplitRepulsionOptions near;
  near.near_radius = o.near_radius;
  near.box_width = o.near_box_width;
  if (o.gradient == TsneGradient::Split) {
    s.split_engine.prepare(s.y, near);
    s.split_engine.gradient(s.p, s.y, exaggeration, s.gradient_threads, s.gradient, team_of(s));
    ++s.engine_counts[2];
    return;
  }
  auto grid_cost = [](const detail::SplitLayout& layout) {
    const double m = static_cast<double>(layout.fft_size);
    return 1.0 * m * m * std::log2(std::max(m, 2.0));
  };
  const double exact_cost = 0.164 * n * (n - 1.0) / 2.0;
  const double fixed = 1e5;  // ns
  double best = exact_cost;
  int choice = 0;
  if (exact_cost > fixed) {
    detail::SplitRepulsionOptions plain;
    plain.near_radius = 0.0;
    plain.box_width = o.plain_box_width;
    const double plain_cost = fixed + 60.0 * n + grid_cost(s.plain_engine.prepare(s.y, plain));
    const detail::SplitLayout layout = s.split_engine.prepare(s.y, near);
    const double split_cost = fixed + 40.0 * n + 0.35 * layout.near_candidates + grid_cost(layout);
    if (plain_cost < best) best = plain_cost, choice = 1;
    if (split_cost < best) best = split_cost, choice = 2;
  }
  ++s.engine_counts[choice];
  if (choice == 0) {
    detail::exact_gradient(s.p, s.y, exaggeration, s.gradient_threads, s.gradient, o.degrees_of_freedom);
  } else {
    detail::SplitRepulsion& engine = choice == 1 ? s.plain_engine : s.split_engine;
    engine.gradient(s.p, s.y, exaggeration, s.gradient_threads, s.gradient, team_of(s));
  }
}

}  // namespace

int Tsne::run(int count) {
  State& s = *state_;
  const TsneOptions& o = s.options;
  int done = 0;
  while (done < count && s.iteration < total_iterations()) {
    const bool early = s.iteration < o.exaggeration_iterations;
    // openTSNE runs the two phases as separate optimisations: the velocity starts from rest
    // when exaggeration is lifted, the gains carry over.
    if (s.iteration == o.exaggeration_iterations && s.iteration > 0) s.optimiser.reset_velocity();
    if (s.y.size() >= 2) {
      const double exaggeration = early ? o.early_exaggeration : o.late_exaggeration;
      if (s.split) {
        split_gradient(s, exaggeration);
      } else if (s.fft) {
        detail::fft_gradient(s.p, s.y, exaggeration, o.degrees_of_freedom, s.gradient_threads, s.engine, s.gradient);
      } else {
        detail::exact_gradient(s.p, s.y, exaggeration, s.gradient_threads, s.gradient, o.degrees_of_freedom);
      }
      s.optimiser.step(s.gradient, early ? o.initial_momentum : o.final_momentum, s.y);
    }
    ++s.iteration;
    ++done;
  }
  return done;
}

bool Tsne::finished() const { return state_->iteration >= total_iterations(); }
int Tsne::iteration() const { return state_->iteration; }
int Tsne::total_iterations() const { return std::max(0, state_->options.iterations); }
std::size_t Tsne::size() const { return state_->y.size(); }

double Tsne::kl_divergence() const {
  const State& s = *state_;
  if (s.split && s.y.size() >= 2) {
    // Z from the split engine (relative error ~1e-4, the cost of one iteration) instead of the
    // O(N²) exact sum: tsne() asks every 50 iterations, and at 5k points twenty exact sums
    // in double precision were 8% of a run.
    detail::SplitRepulsionOptions near;
    near.near_radius = s.options.near_radius;
    near.box_width = s.options.near_box_width;
    s.kl_engine.prepare(s.y, near);
    detail::Embedding2D scratch;
    const double z = s.kl_engine.gradient(s.p, s.y, 1.0, s.gradient_threads, scratch);
    return detail::kl_divergence_given_z(s.p, s.y, 1.0, s.gradient_threads, z);
  }
  if (s.fft) return detail::fft_kl_divergence(s.p, s.y, s.options.degrees_of_freedom, s.gradient_threads, s.engine);
  return detail::exact_kl_divergence(s.p, s.y, s.gradient_threads, s.options.degrees_of_freedom);
}

double Tsne::exact_kl_divergence() const {
  return detail::exact_kl_divergence(state_->p, state_->y, state_->threads, state_->options.degrees_of_freedom);
}

bool Tsne::uses_fft() const { return state_->fft; }

std::string Tsne::engine_summary() const {
  const State& s = *state_;
  const int others = s.engine_counts[0] + s.engine_counts[1] + s.engine_counts[2];
  const int fitsne = s.fft && !s.split ? s.iteration : 0;
  const int exact = s.split ? s.engine_counts[0] : s.iteration - others - fitsne;
  return "exact " + std::to_string(exact) + ", plain " + std::to_string(s.engine_counts[1]) + ", split " +
         std::to_string(s.engine_counts[2]) + ", fitsne " + std::to_string(fitsne);
}

FloatMatrix Tsne::embedding() const {
  const detail::Embedding2D& y = state_->y;
  const std::vector<std::uint32_t>& order = state_->order;
  FloatMatrix out(y.size(), 2);
  for (std::size_t k = 0; k < y.size(); ++k) {
    const std::size_t i = order.empty() ? k : order[k];
    out.at(i, 0) = static_cast<float>(y.x[k]);
    out.at(i, 1) = static_cast<float>(y.y[k]);
  }
  return out;
}

TsneResult tsne(const FloatMatrix& data, const TsneOptions& options, const ProgressCallback& progress) {
  // Chunks of 50 iterations: fine-grained progress and a KL trace at openTSNE's callback cadence.
  constexpr int kChunk = 50;
  Tsne state(data, options);
  TsneResult result;
  const auto total = static_cast<std::size_t>(state.total_iterations());
  report(progress, 0, total);
  while (!state.finished()) {
    state.run(kChunk);
    result.kl_history.push_back(state.kl_divergence());
    report(progress, static_cast<std::size_t>(state.iteration()), total);
  }
  result.kl_divergence = result.kl_history.empty() ? state.kl_divergence() : result.kl_history.back();
  result.embedding = state.embedding();
  return result;
}

}  // namespace photoatlas::embed
