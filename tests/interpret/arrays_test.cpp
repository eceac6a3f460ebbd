#include "interpret/arrays.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <span>
#include <sstream>

#include "core/error.h"
#include "tests/data/temp_files.h"

namespace strand::interpret {
namespace {

using data::testing::TempDir;
using data::testing::write_text;

Array counting(std::vector<int64_t> shape) {
  Array a{std::move(shape), {}};
  int64_t n = 1;
  for (int64_t d : a.shape) n *= d;
  for (int64_t i = 0; i < n; ++i) a.values.push_back(0.25f * static_cast<float>(i) - 3.0f);
  return a;
}

std::string error_of(const std::string& path) {
  try {
    load_npy(path);
  } catch (const Error& e) {
    return e.message();
  }
  return "";
}

TEST(Arrays, NpyRoundTripsEveryRank) {
  TempDir dir;
  for (const auto& shape : std::vector<std::vector<int64_t>>{{}, {7}, {3, 4}, {2, 4, 5}, {0, 4}}) {
    const Array a = counting(shape);
    save_npy(dir.file("a.npy"), a);
    const Array b = load_npy(dir.file("a.npy"));
    EXPECT_EQ(b.shape, a.shape);
    EXPECT_EQ(b.values, a.values);
    std::ifstream in(dir.file("a.npy"), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    EXPECT_EQ((bytes.size() - a.values.size() * 4) % 64, 0u) << "header not padded to 64";
  }
}

// The streamed writer gives the same bytes as save_npy, and nothing at all unless finished with
// exactly the shape's count: an earlier file stays, no temporary is left behind.
TEST(Arrays, NpyWriterStreamsTheSameBytesAndLosesNothingOnError) {
  TempDir dir;
  const Array a = counting({3, 2, 4});
  {
    NpyWriter w(dir.file("s.npy"), a.shape);
    for (size_t i = 0; i < a.values.size(); i += 8)
      w.append(std::span<const float>(a.values).subspan(i, 8));
    w.finish();
  }
  EXPECT_EQ(npy_bytes(load_npy(dir.file("s.npy"))), npy_bytes(a));
  const auto files = [&] {
    int count = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path())) ++count;
    return count;
  };
  {
    NpyWriter w(dir.file("s.npy"), {5});
    w.append(std::vector<float>{1, 2, 3});
    EXPECT_THROW(w.append(std::vector<float>{4, 5, 6}), Error);  // past the shape
    try {
      w.finish();
      ADD_FAILURE() << "finished with 3 of 5 values";
    } catch (const Error& e) {
      EXPECT_NE(e.message().find("3 of the 5 values"), std::string::npos) << e.message();
    }
  }  // destroyed unfinished
  EXPECT_EQ(npy_bytes(load_npy(dir.file("s.npy"))), npy_bytes(a)) << "the earlier file was lost";
  EXPECT_EQ(files(), 1) << "a temporary was left behind";
}

TEST(Arrays, HostileFilesGiveOneLineErrors) {
  TempDir dir;
  const std::string good = npy_bytes(counting({2, 3}));
  auto err = [&](const std::string& bytes) {
    write_text(dir.file("x.npy"), bytes);
    return error_of(dir.file("x.npy"));
  };
  EXPECT_NE(err("hello").find("not a .npy file"), std::string::npos);
  EXPECT_NE(err(good.substr(0, 20)).find("truncated header"), std::string::npos);
  EXPECT_NE(err(good.substr(0, good.size() - 1)).find("needs 24 data bytes"), std::string::npos);
  std::string f8 = good;
  f8.replace(f8.find("<f4"), 3, "<f8");
  EXPECT_NE(err(f8).find("not float32"), std::string::npos);
  std::string fortran = good;
  fortran.replace(fortran.find("False"), 5, "True ");
  EXPECT_NE(err(fortran).find("Fortran-order"), std::string::npos);
  std::string huge = good;
  huge.replace(huge.find("(2, 3)"), 6, "(9999999999, 9999999999)");
  EXPECT_NE(err(huge).find("does not fit"), std::string::npos);
  std::string words = good;
  words.replace(words.find("(2, 3)"), 6, "(2, x)");
  EXPECT_NE(err(words).find("not a tuple of sizes"), std::string::npos);
  EXPECT_NE(error_of(dir.file("missing.npy")).find("cannot open"), std::string::npos);
  EXPECT_THROW(npy_bytes(Array{{2, 2}, {1, 2, 3}}), Error);
}

// NumPy itself must read what strand writes (python3-numpy is a setup.sh package; Debian's
// interpreter is named explicitly because a pyenv or venv python3 may lack NumPy).
TEST(Arrays, NumpyReadsNpyAndNpz) {
  if (std::system("/usr/bin/python3 -c 'import numpy' 2>/dev/null") != 0)
    GTEST_SKIP() << "/usr/bin/python3 with NumPy not found (scripts/setup.sh installs it)";
  TempDir dir;
  save_npy(dir.file("one.npy"), counting({3, 4}));
  save_npz(dir.file("two.npz"), {{"effects", counting({2, 4, 5})}, {"scalar", counting({})}});
  const std::string script = dir.file("check.py");
  write_text(script,
             "import numpy as np, sys\n"
             "a = np.load(sys.argv[1])\n"
             "assert a.dtype == np.float32 and a.shape == (3, 4), (a.dtype, a.shape)\n"
             "assert np.array_equal(a.ravel(), 0.25 * np.arange(12, dtype=np.float32) - 3)\n"
             "z = np.load(sys.argv[2])\n"
             "assert sorted(z.files) == ['effects', 'scalar'], z.files\n"
             "e = z['effects']\n"
             "assert e.shape == (2, 4, 5) and e[1, 3, 4] == 0.25 * 39 - 3\n"
             "assert z['scalar'].shape == () and z['scalar'] == -3\n"
             "np.save(sys.argv[3], np.arange(6, dtype='<f4').reshape(2, 3) / 4)\n");
  const std::string from_numpy = dir.file("from_numpy.npy");
  ASSERT_EQ(std::system(("/usr/bin/python3 " + script + " " + dir.file("one.npy") + " " +
                         dir.file("two.npz") + " " + from_numpy)
                            .c_str()),
            0);
  const Array back = load_npy(from_numpy);
  EXPECT_EQ(back.shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(back.values, (std::vector<float>{0, 0.25f, 0.5f, 0.75f, 1.0f, 1.25f}));
}

}  // namespace
}  // namespace strand::interpret
