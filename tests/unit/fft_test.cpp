#include "polymark/fft.hpp"

#include <catch2/catch.hpp>

#include <complex>
#include <random>

using namespace pm;

namespace {

std::vector<std::complex<double>> naive_dft(const std::vector<std::complex<double>>& x, bool inverse) {
    size_t n = x.size();
    std::vector<std::complex<double>> out(n);
    for (size_t k = 0; k < n; ++k)
        for (size_t j = 0; j < n; ++j)
            out[k] += x[j] * std::polar(1.0, (inverse ? 2 : -2) * 3.14159265358979323846 * double(j * k % n) / double(n));
    return out;
}

std::vector<std::complex<double>> random_values(size_t n, unsigned seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<double> u(-100, 100);
    std::vector<std::complex<double>> x(n);
    for (auto& v : x) v = {u(rng), u(rng)};
    return x;
}

size_t bit_reversed(size_t p, size_t n) {
    size_t r = 0;
    for (size_t bit = 1, high = n / 2; bit < n; bit *= 2, high /= 2)
        if (p & bit) r |= high;
    return r;
}

}  // namespace

TEST_CASE("the batched fft equals the discrete fourier transform of every sequence in the batch") {
    for (int n : {2, 8, 64}) {
        const int batch = 3;
        std::vector<std::vector<std::complex<double>>> seqs;
        for (int b = 0; b < batch; ++b) seqs.push_back(random_values(size_t(n), unsigned(n * 10 + b)));
        for (bool inverse : {false, true}) {
            std::vector<double> re(size_t(n * batch)), im(re.size()), sr(re.size()), si(re.size());
            for (int j = 0; j < n; ++j)
                for (int b = 0; b < batch; ++b) {
                    re[size_t(j * batch + b)] = seqs[size_t(b)][size_t(j)].real();
                    im[size_t(j * batch + b)] = seqs[size_t(b)][size_t(j)].imag();
                }
            FftTwiddles<double> tw;
            tw.make(n);
            fft_batched(re.data(), im.data(), sr.data(), si.data(), n, batch, tw, inverse);
            for (int b = 0; b < batch; ++b) {
                auto want = naive_dft(seqs[size_t(b)], inverse);
                for (int k = 0; k < n; ++k) {
                    INFO("n " << n << " batch " << b << " k " << k << " inverse " << inverse);
                    CHECK(re[size_t(k * batch + b)] == Approx(want[size_t(k)].real()).margin(1e-9));
                    CHECK(im[size_t(k * batch + b)] == Approx(want[size_t(k)].imag()).margin(1e-9));
                }
            }
        }
    }
}

TEST_CASE("the float batched fft stays within float rounding of the exact transform") {
    const int n = 32;
    auto x = random_values(n, 7);
    std::vector<float> re(n), im(n), sr(n), si(n);
    for (int j = 0; j < n; ++j) {
        re[size_t(j)] = float(x[size_t(j)].real());
        im[size_t(j)] = float(x[size_t(j)].imag());
    }
    FftTwiddles<float> tw;
    tw.make(n);
    fft_batched(re.data(), im.data(), sr.data(), si.data(), n, 1, tw, false);
    auto want = naive_dft(x, false);
    for (int k = 0; k < n; ++k) {
        CHECK(re[size_t(k)] == Approx(want[size_t(k)].real()).margin(1e-2));
        CHECK(im[size_t(k)] == Approx(want[size_t(k)].imag()).margin(1e-2));
    }
}

TEST_CASE("the single fft gives the discrete fourier transform in bit-reversed order and inverts it") {
    for (size_t n : {4, 8, 16, 32, 64, 128, 1024}) {
        auto x = random_values(n, unsigned(n));
        std::vector<Vec2> v(n);
        for (size_t j = 0; j < n; ++j) v[j] = {x[j].real(), x[j].imag()};
        fft_forward_bit_reversed(v.data(), n);
        auto want = naive_dft(x, false);
        for (size_t m = 0; m < n; ++m) {
            INFO("n " << n << " frequency " << m);
            const Vec2& got = v[bit_reversed(m, n)];
            CHECK(got.x == Approx(want[m].real()).margin(1e-7));
            CHECK(got.y == Approx(want[m].imag()).margin(1e-7));
        }
        const auto& opposite = fft_opposite_frequency_positions(n);
        for (size_t m = 0; m < n; ++m) CHECK(opposite[bit_reversed(m, n)] == bit_reversed((n - m) % n, n));
        fft_inverse_bit_reversed(v.data(), n);
        for (size_t j = 0; j < n; ++j) {
            CHECK(v[j].x / double(n) == Approx(x[j].real()).margin(1e-9));
            CHECK(v[j].y / double(n) == Approx(x[j].imag()).margin(1e-9));
        }
    }
}
