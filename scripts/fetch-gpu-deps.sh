#!/usr/bin/env bash
# Downloads, here (where Debian's registry is reachable), the .deb files of the libraries strand
# builds against, into .deps/ (git-ignored). The GPU machine cannot fetch anything; carry .deps
# there and scripts/gpu-check.sh unpacks them into a private root. MPI is not carried: the MPI
# tests are CPU tests and run in CI.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .deps /tmp/strand-apt/partial
opts=(-o APT::Architecture=amd64 -o APT::Architectures=amd64 -o Dir::State::Lists=/tmp/strand-apt)
apt-get "${opts[@]}" update -qq
packages=(
  libopenblas-pthread-dev libopenblas0-pthread libgfortran5
  googletest libgtest-dev libgmock-dev libbenchmark-dev libbenchmark1debian
  libhts-dev libhts3 libdeflate0 libdeflate-dev libcurl3-gnutls
  libxgboost-dev libxgboost0 liblinear-dev liblinear4
  libyaml-cpp-dev libyaml-cpp0.7 libcli11-dev nlohmann-json3-dev
)
(cd .deps && apt-get "${opts[@]}" download "${packages[@]}")
ls -la .deps
