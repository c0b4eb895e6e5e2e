#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>

#include "image_fixtures.h"
#include "ingest/discover.h"
#include "test_support.h"

using namespace photoatlas;
using namespace photoatlas::testing;
namespace fs = std::filesystem;

namespace {
std::vector<std::string> names(const Collection& c) {
  std::vector<std::string> out;
  for (const auto& image : c.images) out.push_back(image.display_name);
  return out;
}
SyntheticImage coloured(int r, std::uint64_t seed) {
  SyntheticImage spec;
  spec.base_rgb = {r, 10, 10};
  spec.seed = seed;
  return spec;
}
}  // namespace

TEST(Discover, WalksFoldersRecursivelyInSortedOrder) {
  TempDir dir;
  fs::create_directories(dir / "photos" / "sub" / "deeper");
  write_synthetic_image(dir / "photos" / "b.jpg", coloured(10, 1));
  write_synthetic_image(dir / "photos" / "A.PNG", coloured(20, 2));
  write_synthetic_image(dir / "photos" / "sub" / "c.webp", coloured(30, 3));
  write_synthetic_image(dir / "photos" / "sub" / "deeper" / "d.tif", coloured(40, 4));
  std::ofstream(dir / "photos" / "notes.txt") << "not a photo";
  write_synthetic_image(dir / "photos" / ".hidden.jpg", coloured(50, 5));

  const Collection c = ingest::discover({dir / "photos"}, {});
  EXPECT_EQ(names(c), (std::vector<std::string>{"A.PNG", "b.jpg", "c.webp", "d.tif"}));
  EXPECT_EQ(c.images[3].relative_path, "sub/deeper/d.tif");
  EXPECT_EQ(c.images[0].relative_path, "A.PNG");
  EXPECT_TRUE(c.failures.empty());
  for (const auto& image : c.images) {
    EXPECT_EQ(image.id.size(), 16u);
    EXPECT_EQ(image.id, ingest::hash_hex(ingest::hash_file(image.path)));
    EXPECT_GT(image.file_size, 0u);
  }
  // Stable: the same inputs give the same ids in the same order.
  const Collection again = ingest::discover({dir / "photos"}, {});
  ASSERT_EQ(again.images.size(), c.images.size());
  for (std::size_t i = 0; i < c.images.size(); ++i) EXPECT_EQ(again.images[i].id, c.images[i].id);

  ingest::DiscoverOptions flat;
  flat.recursive = false;
  EXPECT_EQ(ingest::discover({dir / "photos"}, flat).images.size(), 2u);
}

TEST(Discover, ExplicitFilesMissingInputsAndDuplicates) {
  TempDir dir;
  write_synthetic_image(dir / "a.jpg", coloured(10, 1));
  fs::copy_file(dir / "a.jpg", dir / "copy.jpg");
  write_synthetic_image(dir / "photo.png", coloured(90, 9));
  fs::rename(dir / "photo.png", dir / "photo.data");  // odd extension, named explicitly
  const Collection c = ingest::discover({dir / "a.jpg", dir / "copy.jpg", dir / "photo.data", dir / "nope"}, {});
  EXPECT_EQ(names(c), (std::vector<std::string>{"a.jpg", "photo.data"}));
  ASSERT_EQ(c.failures.size(), 2u);
  EXPECT_NE(std::find_if(c.failures.begin(), c.failures.end(),
                         [&](const Failure& f) {
                           return f.reason.find("duplicate of") == 0 && f.path.find("copy.jpg") != std::string::npos;
                         }),
            c.failures.end());
  EXPECT_NE(std::find_if(c.failures.begin(), c.failures.end(),
                         [&](const Failure& f) { return f.reason == "no such file or folder"; }),
            c.failures.end());
}

TEST(Discover, SymlinkLoopsTerminate) {
  TempDir dir;
  fs::create_directories(dir / "photos" / "sub");
  write_synthetic_image(dir / "photos" / "sub" / "a.jpg", coloured(10, 1));
  fs::create_directory_symlink(dir / "photos", dir / "photos" / "sub" / "loop");
  const Collection c = ingest::discover({dir / "photos"}, {});
  EXPECT_EQ(names(c), (std::vector<std::string>{"a.jpg"}));
}

TEST(Discover, NamesWithSpacesAndUnicode) {
  TempDir dir;
  write_synthetic_image(dir / "my photo ☕.jpg", coloured(10, 1));
  const Collection c = ingest::discover({dir.path()}, {});
  ASSERT_EQ(c.images.size(), 1u);
  EXPECT_EQ(c.images[0].display_name, "my photo ☕.jpg");
}
