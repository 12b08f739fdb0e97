// Fast Fourier transforms of power-of-two lengths: the one module of the core that computes them.
// Unnormalised; an inverse conjugates the twiddles. Two forms, for two kinds of work:
// - fft_batched<T>: many transforms at once over structure-of-arrays data, natural order in and
//   out (the tracker's 2-D correlation filters in float: a batch is every row or every column).
//   A template in this header so that it compiles with its caller's flags (the tracker's SIMD).
// - fft_forward_bit_reversed / fft_inverse_bit_reversed: one transform of interleaved doubles in
//   place, radix 4, the spectrum in bit-reversed order (interpolation's curve alignment, 16 to
//   kFftMaxSingle samples, which only multiplies spectra position by position). On that work the
//   batched form with a batch of 1 took 1.4-1.7x as long (a forward and an inverse transform of
//   64 to 256 points, native, 2026-12-06), before even counting the change of layout.
// Depends on nothing but the standard library and Vec2.
#pragma once
#include "polymark/view.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <utility>
#include <vector>

namespace pm {

// Twiddles exp(-2 pi i k / n) for k < n/2, computed in double.
template <class T>
struct FftTwiddles {
    int n = 0;
    std::vector<T> c, s;
    void make(int size) {
        n = size;
        c.resize(size_t(std::max(1, n / 2)));
        s.resize(size_t(std::max(1, n / 2)));
        for (int k = 0; k < n / 2; ++k) {
            double a = 2 * 3.14159265358979323846 * k / n;
            c[size_t(k)] = T(std::cos(a));
            s[size_t(k)] = T(-std::sin(a));
        }
    }
};

// Transforms along an axis of length n (a power of two) for a batch of `batch` interleaved
// sequences: element (j, b) at j * batch + b. Stockham autosort: no bit reversal; for a fixed
// twiddle each butterfly loop runs over s * batch contiguous values. Result back in (xr, xi);
// (yr, yi) is scratch of the same size.
template <class T>
void fft_batched(T* xr, T* xi, T* yr, T* yi, int n, int batch, const FftTwiddles<T>& tw, bool inverse) {
    T* ar = xr;
    T* ai = xi;
    T* br = yr;
    T* bi = yi;
    const T sign = inverse ? T(-1) : T(1);
    for (int len = n, s = 1; len > 1; len /= 2, s *= 2) {
        const int m = len / 2;
        const int run = s * batch;
        const int step = n / len;
        for (int p = 0; p < m; ++p) {
            const T wr = tw.c[size_t(p * step)];
            const T wi = sign * tw.s[size_t(p * step)];
            const T* __restrict a0r = ar + size_t(s) * p * batch;
            const T* __restrict a0i = ai + size_t(s) * p * batch;
            const T* __restrict a1r = ar + size_t(s) * (p + m) * batch;
            const T* __restrict a1i = ai + size_t(s) * (p + m) * batch;
            T* __restrict y0r = br + size_t(s) * (2 * p) * batch;
            T* __restrict y0i = bi + size_t(s) * (2 * p) * batch;
            T* __restrict y1r = br + size_t(s) * (2 * p + 1) * batch;
            T* __restrict y1i = bi + size_t(s) * (2 * p + 1) * batch;
            for (int j = 0; j < run; ++j) {
                T ur = a0r[j], ui = a0i[j], vr = a1r[j], vi = a1i[j];
                y0r[j] = ur + vr;
                y0i[j] = ui + vi;
                T dr = ur - vr, di = ui - vi;
                y1r[j] = dr * wr - di * wi;
                y1i[j] = dr * wi + di * wr;
            }
        }
        std::swap(ar, br);
        std::swap(ai, bi);
    }
    if (ar != xr) {
        std::memcpy(xr, ar, sizeof(T) * size_t(n) * size_t(batch));
        std::memcpy(xi, ai, sizeof(T) * size_t(n) * size_t(batch));
    }
}

inline constexpr size_t kFftMaxSingle = 1024;

// One transform of `count` (4 to kFftMaxSingle, a power of two) complex values (x, y) in place.
void fft_forward_bit_reversed(Vec2* x, size_t count);
// Its inverse (count times it): bit-reversed order in, natural order out.
void fft_inverse_bit_reversed(Vec2* x, size_t count);
// For a spectrum in bit-reversed order, at [p] the position of the frequency opposite to the one
// at p: reading a spectrum through it gives the spectrum of the values read backwards.
const std::vector<uint16_t>& fft_opposite_frequency_positions(size_t count);

}  // namespace pm
