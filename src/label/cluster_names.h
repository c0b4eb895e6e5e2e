// Cluster naming: a readable name per cluster from the categories (and ImageNet classes) of its
// members, and a representative member (the medoid) per cluster.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/matrix.h"

namespace photoatlas::label {

struct ClusterNamingOptions {
  double single_share = 0.6;      // one label names the cluster when it holds at least this share of members
  double pair_share = 0.7;        // else two labels name it ("Food · Coffee") when together they hold this share
  double second_min_share = 0.2;  // ... and the second one alone holds at least this share
  std::string separator = " · ";  // between the two labels of a pair
  std::string mixed = "Mixed";    // when neither rule applies
};

struct ClusterName {
  int cluster = 0;
  std::size_t size = 0;                              // members (points with this label)
  std::string name;                                  // "Food", "Food · Coffee", "Mixed", a class name, or "Empty"
  std::vector<std::pair<std::string, double>> top;   // up to three categories by share, largest first (ties: name order)
};

// Names clusters 0..k-1, k = 1 + the largest label (negative labels, e.g. density-based noise, are
// ignored). `categories[i]` is point i's ontology category. `classes` is optional (empty, or one
// ImageNet class name per point): when a cluster's category name would be just "Misc", which says
// nothing, the same share rules are applied to its class names instead ("golden retriever");
// if they name nothing either, the cluster stays "Misc". Underscores in class names become spaces.
// Throws std::invalid_argument when the vectors' lengths differ.
std::vector<ClusterName> name_clusters(const std::vector<int>& cluster_labels, const std::vector<std::string>& categories,
                                       const std::vector<std::string>& classes = {},
                                       const ClusterNamingOptions& options = {});

// Names clusters by their members' hashtags (Instagram captions): a cluster where one tag is on at
// least `min_share` of the members is named "#tag", or "#tag · #other" when a second one reaches
// `min_share` too. Clusters without such a tag get an empty name (the caller keeps its own).
// `top` lists up to three tags by share. `prefix` goes before each tag in the name ("" for object
// labels: "bicycle · person").
std::vector<ClusterName> name_clusters_by_tags(const std::vector<int>& cluster_labels,
                                               const std::vector<std::vector<std::string>>& tags,
                                               double min_share = 0.25, const std::string& prefix = "#");

struct MedoidOptions {
  std::size_t exact_limit = 1000;  // clusters up to this size get the exact medoid (all pairs)
  std::size_t candidates = 200;    // larger clusters: only the members nearest the mean are candidates...
  std::size_t references = 1000;   // ... scored against this many members drawn at random (seeded)
  std::uint64_t seed = 0;
  int num_threads = 0;             // 0 = all cores
};

// Per cluster 0..k-1 (k = 1 + the largest label), the index of the member minimising the sum of
// Euclidean distances to the cluster's members (ties: the smaller index); -1 for a cluster with no
// member. Exact up to exact_limit members, approximate beyond (see MedoidOptions): the cost is
// candidates x references x dims per cluster, so pass reduced features (PCA) for wide rows.
// Throws std::invalid_argument when labels and rows differ in count.
std::vector<std::ptrdiff_t> cluster_medoids(const FloatMatrix& features, const std::vector<int>& cluster_labels,
                                            const MedoidOptions& options = {});

}  // namespace photoatlas::label
