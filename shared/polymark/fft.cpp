#include "polymark/fft.hpp"

#include <cmath>

namespace pm {
namespace {

constexpr double kPi = 3.14159265358979323846;

Vec2 add(Vec2 a, Vec2 b) { return {a.x + b.x, a.y + b.y}; }
Vec2 sub(Vec2 a, Vec2 b) { return {a.x - b.x, a.y - b.y}; }
Vec2 complex_mul(Vec2 a, Vec2 b) { return {a.x * b.x - a.y * b.y, a.x * b.y + a.y * b.x}; }
Vec2 conj_mul(Vec2 a, Vec2 b) { return {a.x * b.x + a.y * b.y, a.x * b.y - a.y * b.x}; }  // conj(a) * b

// Twiddle factors for the transforms below, computed once. A radix-2 stage of half-length `half`
// uses e^(-pi i j / half) for j < half, at radix2[half - 1 + j]; a radix-4 stage of quarter-length
// `quarter` uses the powers w^j, w^2j, w^3j of w = e^(-pi i / (2 quarter)) for j < quarter, at
// radix4[quarter - 1 + j]. Each stage reads its own run of them in order.
struct TwiddleTriple {
    Vec2 w1, w2, w3;
};
struct TwiddleTables {
    std::vector<Vec2> radix2;
    std::vector<TwiddleTriple> radix4;
};

const TwiddleTables& twiddle_tables() {
    static const TwiddleTables tables = [] {
        auto unit = [](double angle) { return Vec2{std::cos(angle), std::sin(angle)}; };
        TwiddleTables t;
        t.radix2.resize(kFftMaxSingle / 2 * 2 - 1);
        for (size_t half = 1; half <= kFftMaxSingle / 2; half *= 2)
            for (size_t j = 0; j < half; ++j) t.radix2[half - 1 + j] = unit(-kPi * (double)j / (double)half);
        t.radix4.resize(kFftMaxSingle / 4 * 2 - 1);
        for (size_t quarter = 1; quarter <= kFftMaxSingle / 4; quarter *= 2) {
            for (size_t j = 0; j < quarter; ++j) {
                double angle = -kPi * (double)j / (double)(2 * quarter);
                t.radix4[quarter - 1 + j] = {unit(angle), unit(2 * angle), unit(3 * angle)};
            }
        }
        return t;
    }();
    return tables;
}

bool odd_power_of_two(size_t count) {
    bool odd = false;
    for (; count > 1; count /= 2) odd = !odd;
    return odd;
}

Vec2 times_i(Vec2 a) { return {-a.y, a.x}; }
Vec2 times_minus_i(Vec2 a) { return {a.y, -a.x}; }

}  // namespace

// Discrete Fourier transform of a power-of-two count (4 to kFftMaxSingle) of complex values,
// unscaled, by decimation in frequency: the input in natural order, the output in bit-reversed
// order (frequency m at the position whose bits are m's backwards). The correlation only multiplies
// spectra position by position and transforms back with fft_inverse_bit_reversed, which takes that
// order, so neither transform spends time reordering. Radix 4 (one radix-2 stage first when the
// count is an odd power of two): half the passes over the data and fewer products than radix 2.
void fft_forward_bit_reversed(Vec2* x, size_t count) {
    const TwiddleTables& tables = twiddle_tables();
    size_t span = count;  // the length of the transforms each stage splits
    if (odd_power_of_two(count)) {
        size_t half = count / 2;
        const Vec2* w = tables.radix2.data() + half - 1;
        for (size_t j = 0; j < half; ++j) {
            Vec2 u = x[j], v = x[j + half];
            x[j] = add(u, v);
            x[j + half] = complex_mul(sub(u, v), w[j]);
        }
        span = half;
    }
    for (; span >= 16; span /= 4) {
        size_t quarter = span / 4;
        const TwiddleTriple* w = tables.radix4.data() + quarter - 1;
        for (size_t block = 0; block < count; block += span) {
            Vec2* x0 = x + block;
            Vec2* x1 = x0 + quarter;
            Vec2* x2 = x1 + quarter;
            Vec2* x3 = x2 + quarter;
            for (size_t j = 0; j < quarter; ++j) {
                Vec2 sum02 = add(x0[j], x2[j]), diff02 = sub(x0[j], x2[j]);
                Vec2 sum13 = add(x1[j], x3[j]), diff13 = times_minus_i(sub(x1[j], x3[j]));
                x0[j] = add(sum02, sum13);
                x1[j] = complex_mul(sub(sum02, sum13), w[j].w2);
                x2[j] = complex_mul(add(diff02, diff13), w[j].w1);
                x3[j] = complex_mul(sub(diff02, diff13), w[j].w3);
            }
        }
    }
    for (size_t block = 0; block < count; block += 4) {  // the last stage: every twiddle factor is 1
        Vec2* q = x + block;
        Vec2 sum02 = add(q[0], q[2]), diff02 = sub(q[0], q[2]);
        Vec2 sum13 = add(q[1], q[3]), diff13 = times_minus_i(sub(q[1], q[3]));
        q[0] = add(sum02, sum13);
        q[1] = sub(sum02, sum13);
        q[2] = add(diff02, diff13);
        q[3] = sub(diff02, diff13);
    }
}

// The inverse of fft_forward_bit_reversed, unscaled (count times the inverse): the input in bit-reversed
// order, the output in natural order; decimation in time, the same stages in reverse.
void fft_inverse_bit_reversed(Vec2* x, size_t count) {
    const TwiddleTables& tables = twiddle_tables();
    for (size_t block = 0; block < count; block += 4) {  // the first stage: every twiddle factor is 1
        Vec2* q = x + block;
        Vec2 sum01 = add(q[0], q[1]), diff01 = sub(q[0], q[1]);
        Vec2 sum23 = add(q[2], q[3]), diff23 = times_i(sub(q[2], q[3]));
        q[0] = add(sum01, sum23);
        q[2] = sub(sum01, sum23);
        q[1] = add(diff01, diff23);
        q[3] = sub(diff01, diff23);
    }
    size_t span = 16;
    for (; span <= count; span *= 4) {
        size_t quarter = span / 4;
        const TwiddleTriple* w = tables.radix4.data() + quarter - 1;
        for (size_t block = 0; block < count; block += span) {
            Vec2* x0 = x + block;
            Vec2* x1 = x0 + quarter;
            Vec2* x2 = x1 + quarter;
            Vec2* x3 = x2 + quarter;
            for (size_t j = 0; j < quarter; ++j) {
                // x * conj(w) for each twiddle factor w
                Vec2 p1 = conj_mul(w[j].w2, x1[j]), p2 = conj_mul(w[j].w1, x2[j]), p3 = conj_mul(w[j].w3, x3[j]);
                Vec2 sum01 = add(x0[j], p1), diff01 = sub(x0[j], p1);
                Vec2 sum23 = add(p2, p3), diff23 = times_i(sub(p2, p3));
                x0[j] = add(sum01, sum23);
                x2[j] = sub(sum01, sum23);
                x1[j] = add(diff01, diff23);
                x3[j] = sub(diff01, diff23);
            }
        }
    }
    if (span / 4 < count) {  // an odd power of two: a last radix-2 stage
        size_t half = count / 2;
        const Vec2* w = tables.radix2.data() + half - 1;
        for (size_t j = 0; j < half; ++j) {
            Vec2 u = x[j], v = conj_mul(w[j], x[j + half]);
            x[j] = add(u, v);
            x[j + half] = sub(u, v);
        }
    }
}

namespace {

size_t reverse_bits(size_t value, int bits) {
    size_t reversed = 0;
    for (int b = 0; b < bits; ++b) reversed |= ((value >> b) & 1) << (bits - 1 - b);
    return reversed;
}

}  // namespace

// For a spectrum of `count` values in bit-reversed order: at [p], the position of the frequency
// opposite to the one at p (-m for m). Reading a spectrum through it gives the spectrum of the
// same values read backwards from the first one. Computed once for every power of two.
const std::vector<uint16_t>& fft_opposite_frequency_positions(size_t count) {
    static const std::vector<std::vector<uint16_t>> tables = [] {
        std::vector<std::vector<uint16_t>> t;
        for (int bits = 0; ((size_t)1 << bits) <= kFftMaxSingle; ++bits) {
            size_t n = (size_t)1 << bits;
            std::vector<uint16_t> positions(n);
            for (size_t p = 0; p < n; ++p) positions[p] = (uint16_t)reverse_bits((n - reverse_bits(p, bits)) % n, bits);
            t.push_back(std::move(positions));
        }
        return t;
    }();
    size_t bits = 0;
    while (((size_t)1 << bits) < count) ++bits;
    return tables[bits];
}

}  // namespace pm
