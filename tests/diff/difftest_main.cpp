// vessel-difftest: long differential runs of the software engine against Unicorn and/or this
// machine's CPU (KVM, guest ring 3). Not part of ctest (diff_quick_test runs a sample).
// Exit status 0 when no divergence was found, 1 otherwise, 2 on setup errors.
//   vessel-difftest --oracle both --count 1000000 --seed 1
//   vessel-difftest --oracle kvm --case 0x1234abcd   (re-run and print one case)
//   vessel-difftest --exec jit --count 300000        (the translator instead of the interpreter)
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <chrono>

#include "compare.hpp"
#include "corpus.hpp"
#include "difftest.hpp"
#include "generator.hpp"

using namespace vessel::difftest;

int main(int argc, char** argv) {
  CLI::App app{"Differential testing of the software x86-64 engine"};
  std::string oracle = "unicorn";
  uint64_t count = 10000, seed = 1, max_reports = 20, only = 0;
  bool corpus = false;
  app.add_option("--oracle", oracle, "unicorn | kvm | both")
      ->check(CLI::IsMember({"unicorn", "kvm", "both"}));
  app.add_option("--count", count, "random cases to run");
  app.add_option("--seed", seed, "seed of the random cases");
  app.add_option("--max-reports", max_reports, "divergences printed in full");
  app.add_option("--case", only, "run only the case with this id (as printed in reports)");
  app.add_flag("--corpus", corpus, "also run the hand-written corpus");
  std::string exec = "interp";
  app.add_option("--exec", exec, "the software engine's interpreter, or its translator")
      ->check(CLI::IsMember({"interp", "jit"}));
  CLI11_PARSE(app, argc, argv);

  auto emu = make_emu_runner(exec == "jit" ? vessel::engine::emu::ExecMode::kJit
                                           : vessel::engine::emu::ExecMode::kInterp);
  if (!emu) {
    fmt::print(stderr, "emu: {}\n", emu.error().message);
    return 2;
  }
  std::vector<std::unique_ptr<Runner>> oracles;
  if (oracle != "kvm") {
    auto u = make_unicorn_runner();
    if (!u) return fmt::print(stderr, "unicorn: {}\n", u.error().message), 2;
    oracles.push_back(std::move(*u));
  }
  if (oracle != "unicorn") {
    auto k = make_kvm_runner();
    if (!k) return fmt::print(stderr, "kvm: {}\n", k.error().message), 2;
    oracles.push_back(std::move(*k));
  }
  Session session(std::move(*emu), std::move(oracles), stdout, max_reports);
  const auto start = std::chrono::steady_clock::now();
  if (only) {
    const TestCase tc = make_case(only);
    fmt::print("{}", describe(tc));
    return session.check(tc) ? 0 : 1;
  }
  if (corpus)
    for (const TestCase& tc : corpus_cases()) session.check(tc);
  for (uint64_t i = 0; i < count; ++i) {
    session.check(make_case(case_id(seed, i)));
    if ((i + 1) % 100000 == 0) {
      fmt::print(stderr, "{} cases:", i + 1);
      for (const auto& s : session.stats()) fmt::print(stderr, " {} {} div", s.name, s.divergences);
      fmt::print(stderr, "\n");
    }
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  uint64_t total = 0;
  for (const auto& s : session.stats()) {
    fmt::print(
        "emu vs {}: {} cases, {} divergences, {} oracle bugs (kvm agreed with emu), {} "
        "cases the oracle could not run\n",
        s.name, s.cases, s.divergences, s.oracle_bugs, s.oracle_failures);
    total += s.divergences;
  }
  fmt::print("seed {} count {}{}: {:.1f} s\n", seed, count, corpus ? " + corpus" : "", secs);
  return total ? 1 : 0;
}
