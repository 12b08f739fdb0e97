// The tracker, in four parts (numbers behind the choices: bench/README.md, "Tracking"):
// 1. Sampling. Each patch the filters see is resampled from a region of the frame: the region is
//    first averaged in k x k blocks (k about the patch's pixel spacing, so that a large target seen
//    through a small patch is not aliased), then read bilinearly. Pixels outside the frame repeat
//    the nearest edge pixel. Grey or RGBA frames are read the same way.
// 2. Features. HOG-like: per 4x4-pixel cell, 9 unsigned orientation bins of gradient magnitude
//    (linear between neighbouring bins), normalised by the energy of the 3x3 cells around and
//    truncated, plus the cell's mean intensity: 10 channels.
// 3. Position: a kernelised correlation filter (Henriques et al., KCF) with a Gaussian kernel over
//    a window 2.5 times the target, on a power-of-two grid of cells (our own radix-2 FFT, Stockham
//    order, every butterfly loop running over a contiguous batch so that it vectorises). The peak
//    is refined by a parabola; its peak-to-sidelobe ratio (PSR) says how sure the match is.
// 4. Scale and rotation: DSST-style (Danelljan et al.) 1-D correlation filters over 17 scales
//    and over 9 angles of the target (2 degrees apart), each sample a feature vector, the
//    transform along the samples a direct DFT. The position window is sampled turned by the
//    estimated angle, so a turning object keeps matching its model; the box reported is the
//    axis-aligned bounds of the turned target, and `since_start` moves the first polygon.
// Training reuses what detection sampled when the target was found near its middle (the position
// window's spectra shifted by a phase ramp, the scale filter's label moved), else samples again.
// The target is lost when the response's PSR is low, or when its peak falls well under its
// running mean without a sharp PSR (an occluder or the frame's edge leaves the context matching,
// so the PSR alone stays moderate); the box then stays. Between the lost and the update thresholds
// the box moves but no model learns, so an occluder is not learnt. Learning asks for a sharp peak
// (PSR 10) more than a high one (half the usual height): a deforming target keeps a sharp, lower
// peak, an occluder blunts it. When the window finds nothing to learn from, the 8 windows around
// it are searched too, and one with a sure peak is taken (re-detection: camera shake, a target
// coming back beside where it was lost).
#include "polymark/tracker.hpp"

#include "polymark/fft.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <optional>
#include <string>

namespace pm {
namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr int kChannels = 10;  // 9 orientations + intensity
constexpr int kCell = 4;       // patch pixels per cell side
// Training reuses what detection sampled when the target was found at most this far from its
// middle (position: cells; scale: scale steps); further, it samples again around the target.
// Measured on the tracking bench: as accurate as sampling again, a third less work a frame.
constexpr double kReuseCells = 0.25;
constexpr double kReuseScaleSteps = 0.5;

// [SECTION] 2-D FFT (the 1-D transforms: shared/polymark/fft.hpp)

void transpose(const float* __restrict in, float* __restrict out, int rows, int cols) {
    for (int r = 0; r < rows; ++r)
        for (int c = 0; c < cols; ++c) out[size_t(c) * rows + r] = in[size_t(r) * cols + c];
}

// 2-D FFT of a w x h grid (powers of two). Spatial layout [y][x]; spectra are kept transposed,
// [kx][ky], which element-wise products do not care about, and which saves a transpose each way.
struct Fft2 {
    int w = 0, h = 0;
    FftTwiddles<float> tx, ty;
    std::vector<float> sr, si;  // scratch
    void make(int width, int height) {
        w = width;
        h = height;
        tx.make(w);
        ty.make(h);
        sr.assign(size_t(w) * h, 0.f);
        si.assign(size_t(w) * h, 0.f);
    }
    void forward(float* re, float* im) {
        fft_batched(re, im, sr.data(), si.data(), h, w, ty, false);
        transpose(re, sr.data(), h, w);
        transpose(im, si.data(), h, w);
        std::memcpy(re, sr.data(), sizeof(float) * sr.size());
        std::memcpy(im, si.data(), sizeof(float) * si.size());
        fft_batched(re, im, sr.data(), si.data(), w, h, tx, false);
    }
    // Back to [y][x], divided by w * h.
    void inverse(float* re, float* im) {
        fft_batched(re, im, sr.data(), si.data(), w, h, tx, true);
        transpose(re, sr.data(), w, h);
        transpose(im, si.data(), w, h);
        std::memcpy(re, sr.data(), sizeof(float) * sr.size());
        std::memcpy(im, si.data(), sizeof(float) * si.size());
        fft_batched(re, im, sr.data(), si.data(), h, w, ty, true);
        const float k = 1.f / float(size_t(w) * h);
        const size_t n = size_t(w) * h;
        for (size_t i = 0; i < n; ++i) {
            re[i] *= k;
            im[i] *= k;
        }
    }
};

// [SECTION] Sampling

// A region of the frame averaged in k x k blocks: block (i, j) covers frame pixels
// [x0 + i k, x0 + (i + 1) k) x [y0 + j k, ...), its centre at x0 + i k + k / 2.
struct Region {
    int x0 = 0, y0 = 0, k = 1, w = 0, h = 0;
    std::vector<float> px;
    std::vector<int> cols;  // clamped frame column of every pixel column of the region
};

template <PixelFormat F>
inline float read_pixel(const uint8_t* row, int x) {
    if constexpr (F == PixelFormat::gray8) {
        return float(row[x]);
    } else {
        const uint8_t* p = row + 4 * x;
        return 0.299f * p[0] + 0.587f * p[1] + 0.114f * p[2];
    }
}

template <PixelFormat F>
void fill_region(const FrameView& f, Region& r) {
    const int k = r.k;
    const float inv = 1.f / float(k * k);
    const bool inside_x = r.x0 >= 0 && r.x0 + r.w * k <= f.width;
    std::vector<float> rowsum(size_t(r.w) * k);
    for (int j = 0; j < r.h; ++j) {
        float* out = r.px.data() + size_t(j) * r.w;
        std::fill(out, out + r.w, 0.f);
        for (int dy = 0; dy < k; ++dy) {
            const int y = std::clamp(r.y0 + j * k + dy, 0, f.height - 1);
            const uint8_t* row = f.pixels + size_t(y) * f.stride;
            float* rs = rowsum.data();
            if (inside_x) {
                const int n = r.w * k;
                for (int i = 0; i < n; ++i) rs[i] = read_pixel<F>(row, r.x0 + i);
            } else {
                const int n = r.w * k;
                for (int i = 0; i < n; ++i) rs[i] = read_pixel<F>(row, r.cols[i]);
            }
            if (k == 1) {
                for (int i = 0; i < r.w; ++i) out[i] += rs[i];
            } else {
                for (int i = 0; i < r.w; ++i) {
                    float s = 0;
                    for (int t = 0; t < k; ++t) s += rs[i * k + t];
                    out[i] += s;
                }
            }
        }
        if (k > 1)
            for (int i = 0; i < r.w; ++i) out[i] *= inv;
    }
}

// Makes `r` cover frame x in [xmin, xmax], y in [ymin, ymax] in blocks of k.
void build_region(const FrameView& f, double xmin, double ymin, double xmax, double ymax, int k,
                  Region& r) {
    r.k = k;
    r.x0 = int(std::floor(xmin)) - 2 * k;
    r.y0 = int(std::floor(ymin)) - 2 * k;
    r.w = int(std::ceil((xmax - r.x0) / k)) + 3;
    r.h = int(std::ceil((ymax - r.y0) / k)) + 3;
    r.px.resize(size_t(r.w) * r.h);
    r.cols.resize(size_t(r.w) * k);
    for (int i = 0; i < r.w * k; ++i) r.cols[i] = std::clamp(r.x0 + i, 0, f.width - 1);
    if (f.format == PixelFormat::gray8)
        fill_region<PixelFormat::gray8>(f, r);
    else
        fill_region<PixelFormat::rgba8>(f, r);
}

// pw x ph bilinear samples centred on (cx, cy), spaced sx, sy frame pixels apart along axes turned
// by `angle` radians (clockwise on screen, y pointing down).
void sample_patch(const Region& r, double cx, double cy, double sx, double sy, double angle, int pw,
                  int ph, float* out, std::vector<int>& xi, std::vector<float>& xf) {
    if (angle != 0) {
        // In region blocks: sample (i, j) is at origin + i * step_i + j * step_j.
        const double c = std::cos(angle), s = std::sin(angle), half = r.k * 0.5, ik = 1.0 / r.k;
        const double u0 = -(pw - 1) * 0.5 * sx, v0 = -(ph - 1) * 0.5 * sy;
        const float ox = float((cx + c * u0 - s * v0 - r.x0 - half) * ik);
        const float oy = float((cy + s * u0 + c * v0 - r.y0 - half) * ik);
        const float ix_step = float(c * sx * ik), iy_step = float(s * sx * ik);
        const float jx_step = float(-s * sy * ik), jy_step = float(c * sy * ik);
        const float umax = float(r.w - 1) - 1e-3f, vmax = float(r.h - 1) - 1e-3f;
        for (int j = 0; j < ph; ++j) {
            const float rx = ox + float(j) * jx_step, ry = oy + float(j) * jy_step;
            float* o = out + size_t(j) * pw;
            for (int i = 0; i < pw; ++i) {
                const float x = std::clamp(rx + float(i) * ix_step, 0.f, umax);
                const float y = std::clamp(ry + float(i) * iy_step, 0.f, vmax);
                const int ix = int(x), iy = int(y);
                const float fx = x - float(ix), fy = y - float(iy);
                const float* r0 = r.px.data() + size_t(iy) * r.w + ix;
                const float* r1 = r0 + r.w;
                const float top = r0[0] + (r0[1] - r0[0]) * fx;
                const float bot = r1[0] + (r1[1] - r1[0]) * fx;
                o[i] = top + (bot - top) * fy;
            }
        }
        return;
    }
    xi.resize(pw);
    xf.resize(pw);
    const double half = r.k * 0.5;
    for (int i = 0; i < pw; ++i) {
        double x = cx + (i - (pw - 1) * 0.5) * sx;
        double u = (x - r.x0 - half) / r.k;
        u = std::clamp(u, 0.0, double(r.w - 1) - 1e-6);
        int iu = int(u);
        xi[i] = iu;
        xf[i] = float(u - iu);
    }
    for (int j = 0; j < ph; ++j) {
        double y = cy + (j - (ph - 1) * 0.5) * sy;
        double v = (y - r.y0 - half) / r.k;
        v = std::clamp(v, 0.0, double(r.h - 1) - 1e-6);
        int iv = int(v);
        float fv = float(v - iv);
        const float* r0 = r.px.data() + size_t(iv) * r.w;
        const float* r1 = r0 + r.w;
        float* o = out + size_t(j) * pw;
        for (int i = 0; i < pw; ++i) {
            int a = xi[i];
            float fu = xf[i];
            float top = r0[a] + (r0[a + 1] - r0[a]) * fu;
            float bot = r1[a] + (r1[a + 1] - r1[a]) * fu;
            o[i] = top + (bot - top) * fv;
        }
    }
}

// [SECTION] Features

// atan2(y, x) for y >= 0, in [0, pi]; max error about 1e-5 rad. The choices are arithmetic,
// not branches, so that the loops calling it vectorise.
inline float angle_upper(float x, float y) {
    float ax = std::fabs(x);
    float mn = std::min(ax, y), mx = std::max(ax, y);
    float t = mn / (mx + 1e-20f);
    float s = t * t;
    float r = ((-0.0464964749f * s + 0.15931422f) * s - 0.327622764f) * s * t + t;
    r += float(y > ax) * (float(kPi / 2) - 2 * r);
    return r + float(x < 0) * (float(kPi) - 2 * r);
}

struct FeatureScratch {
    std::vector<float> mag, bin;
    std::vector<int> col_cell;      // per pixel column: the left cell it votes into, + 1
    std::vector<float> col_w;       // and that cell's weight (the right one gets 1 - it)
    std::vector<float> rowbuf;      // one row of cells, [cell + 1][channel], with a cell each side
    std::vector<float> acc;         // all cells, [cell row + 1][cell + 1][channel], padded likewise
    std::vector<float> energy;
    std::vector<int> xi;
    std::vector<float> xf;
    int table_w = -1;
};

// Features of a patch of (4 gw + 2) x (4 gh + 2) pixels (one pixel of border for the gradients):
// kChannels planes of gw x gh cells into `out`.
//
// Each pixel votes into the four cells around it, bilinearly, so that a shift by a fraction of a
// cell changes the features smoothly (hard cells would snap to the grid). The votes go first into
// one row of cells (two cells per pixel; cells of a padding column on each side take the votes
// that fall off the patch, so nothing branches), then that row is added into the two rows of
// cells around it, a loop over contiguous floats.
void compute_features(const float* patch, int gw, int gh, float* out, FeatureScratch& s) {
    const int pw = gw * kCell, ph = gh * kCell, stride = pw + 2;
    const size_t cells = size_t(gw) * gh;
    const int rw = (gw + 2) * kChannels;  // floats in a padded row of cells
    s.mag.resize(pw);
    s.bin.resize(pw);
    if (s.table_w != pw) {
        s.col_cell.resize(pw);
        s.col_w.resize(pw);
        for (int x = 0; x < pw; ++x) {
            const float cxf = (x + 0.5f) / kCell - 0.5f;
            const int c0 = int(std::floor(cxf));
            s.col_cell[x] = (c0 + 1) * kChannels;
            s.col_w[x] = 1 - (cxf - float(c0));
        }
        s.table_w = pw;
    }
    s.rowbuf.resize(size_t(rw));
    s.acc.assign(size_t(gh + 2) * rw, 0.f);
    constexpr float kBinsPerRad = float(9 / kPi);
    for (int y = 0; y < ph; ++y) {
        const float* up = patch + size_t(y) * stride + 1;
        const float* mid = up + stride;
        const float* down = mid + stride;
        float* __restrict mag = s.mag.data();
        float* __restrict bin = s.bin.data();
        for (int x = 0; x < pw; ++x) {
            float gx = mid[x + 1] - mid[x - 1];
            float gy = down[x] - up[x];
            mag[x] = std::sqrt(gx * gx + gy * gy);
            float neg = 1 - 2 * float(gy < 0);
            bin[x] = angle_upper(gx * neg, gy * neg) * kBinsPerRad;
        }
        float* __restrict row = s.rowbuf.data();
        std::fill(row, row + rw, 0.f);
        const int* cc = s.col_cell.data();
        const float* cw = s.col_w.data();
        for (int x = 0; x < pw; ++x) {
            const float b = bin[x];
            int b0 = int(b);
            const float w1 = b - float(b0);
            b0 = b0 >= 9 ? b0 - 9 : b0;
            const int b1 = b0 == 8 ? 0 : b0 + 1;
            const float m = mag[x], wl = cw[x], wr = 1 - wl, v = mid[x];
            float* l = row + cc[x];
            float* r = l + kChannels;
            const float m0 = m * (1 - w1), m1 = m * w1;
            l[b0] += m0 * wl;
            l[b1] += m1 * wl;
            l[9] += v * wl;
            r[b0] += m0 * wr;
            r[b1] += m1 * wr;
            r[9] += v * wr;
        }
        const float cyf = (y + 0.5f) / kCell - 0.5f;
        const int cy0 = int(std::floor(cyf));
        const float wy1 = cyf - float(cy0), wy0 = 1 - wy1;
        float* __restrict a0 = s.acc.data() + size_t(cy0 + 1) * rw;
        float* __restrict a1 = a0 + rw;
        for (int i = 0; i < rw; ++i) {
            a0[i] += row[i] * wy0;
            a1[i] += row[i] * wy1;
        }
    }
    // Normalise by the 3x3 cell neighbourhood's energy; truncate; channel planes out.
    s.energy.assign(cells, 0.f);
    for (int y = 0; y < gh; ++y) {
        const float* a = s.acc.data() + size_t(y + 1) * rw + kChannels;
        for (int x = 0; x < gw; ++x) {
            float e = 0;
            for (int b = 0; b < 9; ++b) e += a[x * kChannels + b] * a[x * kChannels + b];
            s.energy[size_t(y) * gw + x] = e;
        }
    }
    constexpr float kEps = 16 * 16 * 64.f;  // a floor: gradients of ~8 grey levels per pixel
    constexpr float kMean = 1.f / (255.f * kCell * kCell);
    for (int y = 0; y < gh; ++y) {
        for (int x = 0; x < gw; ++x) {
            float e = 0;
            int n = 0;
            for (int dy = -1; dy <= 1; ++dy) {
                int yy = y + dy;
                if (yy < 0 || yy >= gh) continue;
                for (int dx = -1; dx <= 1; ++dx) {
                    int xx = x + dx;
                    if (xx < 0 || xx >= gw) continue;
                    e += s.energy[size_t(yy) * gw + xx];
                    ++n;
                }
            }
            const float norm = 1.f / std::sqrt(e / float(n) + kEps);
            const float* a = s.acc.data() + size_t(y + 1) * rw + size_t(x + 1) * kChannels;
            const size_t c = size_t(y) * gw + x;
            for (int b = 0; b < 9; ++b) out[size_t(b) * cells + c] = std::min(a[b] * norm, 0.4f);
            out[9 * cells + c] = a[9] * kMean - 0.5f;
        }
    }
}

// [SECTION] Filters along a series of samples

// A DSST-style correlation filter along a series of n samples (scales, or angles), each a
// feature vector of `dim`; the transform along the series is a direct DFT (n is small and odd).
// Each sample is scaled to unit length first: otherwise a larger sample, holding more of a busier
// background than the target has, would answer more strongly and the size would creep up.
struct SeriesFilter {
    int n = 0, dim = 0;
    std::vector<float> hann, dft_c, dft_s, yf_re, yf_im, num_re, num_im, den;
    std::vector<float> feat, f_re, f_im;  // samples [i][d]; their spectra [k][d]
    std::vector<float> shifted_re, shifted_im;

    void make(int count, int dimension) {
        n = count;
        dim = dimension;
        if (n == 0) return;
        hann.resize(n);
        for (int i = 0; i < n; ++i) hann[i] = float(0.5 - 0.5 * std::cos(2 * kPi * (i + 1) / (n + 1)));
        dft_c.resize(size_t(n) * n);
        dft_s.resize(size_t(n) * n);
        for (int k = 0; k < n; ++k)
            for (int i = 0; i < n; ++i) {
                double a = 2 * kPi * double((size_t(k) * i) % n) / n;
                dft_c[size_t(k) * n + i] = float(std::cos(a));
                dft_s[size_t(k) * n + i] = float(std::sin(a));
            }
        label_spectrum(0, yf_re, yf_im);
        num_re.assign(size_t(n) * dim, 0.f);
        num_im.assign(size_t(n) * dim, 0.f);
        den.assign(n, 0.f);
        feat.assign(size_t(n) * dim, 0.f);
    }

    float* sample(int i) { return feat.data() + size_t(i) * dim; }

    // The spectrum of the Gaussian label peaking `shift` samples from the middle.
    void label_spectrum(double shift, std::vector<float>& re, std::vector<float>& im) const {
        const double sigma = std::sqrt(double(n)) / 4;
        re.assign(n, 0.f);
        im.assign(n, 0.f);
        for (int i = 0; i < n; ++i) {
            const double e = i - (n - 1) / 2.0 - shift;
            const float y = float(std::exp(-0.5 * e * e / (sigma * sigma)));
            for (int k = 0; k < n; ++k) {
                re[k] += y * dft_c[size_t(k) * n + i];
                im[k] -= y * dft_s[size_t(k) * n + i];
            }
        }
    }

    void transform() {
        for (int i = 0; i < n; ++i) {
            float* v = sample(i);
            float e = 0;
            for (int d = 0; d < dim; ++d) e += v[d] * v[d];
            const float w = hann[i] / std::sqrt(e + 1e-12f);
            for (int d = 0; d < dim; ++d) v[d] *= w;
        }
        f_re.assign(size_t(n) * dim, 0.f);
        f_im.assign(size_t(n) * dim, 0.f);
        for (int k = 0; k < n; ++k) {
            float* __restrict orr = f_re.data() + size_t(k) * dim;
            float* __restrict oi = f_im.data() + size_t(k) * dim;
            for (int i = 0; i < n; ++i) {
                const float c = dft_c[size_t(k) * n + i], s = dft_s[size_t(k) * n + i];
                const float* __restrict in = feat.data() + size_t(i) * dim;
                for (int d = 0; d < dim; ++d) {
                    orr[d] += c * in[d];
                    oi[d] -= s * in[d];
                }
            }
        }
    }

    // Blends the transformed samples into the model: num = y * conj(f), den = sum |f|^2, the
    // label y peaking `shift` samples from the middle (where the target was found among them).
    void train(double rate, double shift = 0) {
        const float r = float(rate), q = 1 - r;
        const float* g_re = yf_re.data();
        const float* g_im = yf_im.data();
        if (shift != 0) {
            label_spectrum(shift, shifted_re, shifted_im);
            g_re = shifted_re.data();
            g_im = shifted_im.data();
        }
        for (int k = 0; k < n; ++k) {
            const float gr = g_re[k], gi = g_im[k];
            float* __restrict nr = num_re.data() + size_t(k) * dim;
            float* __restrict ni = num_im.data() + size_t(k) * dim;
            const float* __restrict fr = f_re.data() + size_t(k) * dim;
            const float* __restrict fi = f_im.data() + size_t(k) * dim;
            float e = 0;
            for (int d = 0; d < dim; ++d) {
                nr[d] = q * nr[d] + r * (gr * fr[d] + gi * fi[d]);
                ni[d] = q * ni[d] + r * (gi * fr[d] - gr * fi[d]);
                e += fr[d] * fr[d] + fi[d] * fi[d];
            }
            den[k] = q * den[k] + r * e;
        }
    }

    // Where along the series the transformed samples answer best, in samples from the middle
    // (refined by a parabola).
    double detect(double lambda) const {
        std::vector<float> rr(n), ri(n);
        for (int k = 0; k < n; ++k) {
            const float* nr = num_re.data() + size_t(k) * dim;
            const float* ni = num_im.data() + size_t(k) * dim;
            const float* fr = f_re.data() + size_t(k) * dim;
            const float* fi = f_im.data() + size_t(k) * dim;
            float a = 0, b = 0;
            for (int d = 0; d < dim; ++d) {
                a += nr[d] * fr[d] - ni[d] * fi[d];
                b += nr[d] * fi[d] + ni[d] * fr[d];
            }
            const float inv = 1.f / (den[k] + float(lambda));
            rr[k] = a * inv;
            ri[k] = b * inv;
        }
        std::vector<double> resp(n, 0.0);
        for (int i = 0; i < n; ++i) {
            double acc = 0;
            for (int k = 0; k < n; ++k)  // real part of the inverse DFT
                acc += double(rr[k]) * dft_c[size_t(k) * n + i] - double(ri[k]) * dft_s[size_t(k) * n + i];
            resp[i] = acc;
        }
        const int best = int(std::max_element(resp.begin(), resp.end()) - resp.begin());
        double off = 0;
        if (best > 0 && best < n - 1) {
            const double l = resp[best - 1], c = resp[best], r = resp[best + 1];
            const double d = l - 2 * c + r;
            if (d < 0) off = std::clamp(0.5 * (l - r) / d, -0.5, 0.5);
        }
        return best + off - (n - 1) / 2.0;
    }
};

int next_pow2_round(double v) {
    int e = int(std::lround(std::log2(std::max(v, 1.0))));
    return 1 << std::clamp(e, 3, 7);
}

// The similarity taking a target at centre (x0, y0), scale s0, angle a0 to (x1, y1), s1, a1.
Similarity similarity_between(double x0, double y0, double s0, double a0, double x1, double y1, double s1,
                              double a1) {
    Similarity m;
    const double r = s1 / s0, t = a1 - a0;
    m.a = r * std::cos(t);
    m.b = r * std::sin(t);
    m.tx = x1 - (m.a * x0 - m.b * y0);
    m.ty = y1 - (m.b * x0 + m.a * y0);
    return m;
}

// A coordinate for a message: two decimals, no trailing zeros ("12.5", "-3", "40.25").
std::string coordinate(double v) {
    std::string t = std::to_string(std::round(v * 100) / 100);  // six decimals
    t.erase(t.find_last_not_of('0') + 1);
    if (!t.empty() && t.back() == '.') t.pop_back();
    return t;
}

Error box_error(const char* code, const Rect& b, const std::string& why) {
    return Error{code, "box",
                 "box {x " + coordinate(b.x) + ", y " + coordinate(b.y) + ", w " + coordinate(b.w) + ", h " +
                     coordinate(b.h) + "}: " + why};
}

}  // namespace

// [SECTION] Tracker state

struct Tracker::State {
    TrackerParams p;
    int frame_w = 0, frame_h = 0;
    bool ready = false;
    // Position filter.
    int gw = 0, gh = 0;
    size_t cells = 0;
    double base_w = 0, base_h = 0;  // the target size at scale 1
    double cell0 = 0;               // frame pixels per cell at scale 1
    double scale = 1, cx = 0, cy = 0;
    Fft2 fft;
    std::vector<float> hann;
    std::vector<float> yf_re, yf_im;
    std::vector<float> model_xf_re, model_xf_im, model_af_re, model_af_im;
    double angle = 0;               // radians, clockwise on screen, since init
    double start_cx = 0, start_cy = 0;
    // Scale and rotation filters, on target-sized samples of sgw x sgh cells.
    int sgw = 0, sgh = 0;
    SeriesFilter scales, angles;
    double min_scale = 0, max_scale = 0;
    double peak = 0, mean_peak = 0;  // the response peak, and its running mean while confident
    // Where this frame's last looks were: the position window's centre, cell size, angle and sum
    // of squares (its spectra stay in zf_re, zf_im), and the scale the scale samples were taken
    // around. Training reuses those samples when the target was found near their middle.
    double seen_x = 0, seen_y = 0, seen_cell = 0, seen_angle = 0, seen_xx = 0;
    double scales_seen_at = 1;
    // Scratch. The region is kept for the rest of a frame: detection, re-detection, the scale
    // samples and training mostly read the same pixels.
    Region region;
    long long frame_serial = 0, region_serial = -1;
    FeatureScratch fs;
    std::vector<float> patch, feat, zf_re, zf_im, k_re, k_im;
    std::vector<float> shift_re_x, shift_im_x, shift_re_y, shift_im_y;

    // The axis-aligned bounds of the target box turned by the current angle.
    Rect current_box() const {
        const double w = base_w * scale, h = base_h * scale;
        const double c = std::fabs(std::cos(angle)), sn = std::fabs(std::sin(angle));
        const double bw = c * w + sn * h, bh = sn * w + c * h;
        return {cx - bw / 2, cy - bh / 2, bw, bh};
    }

    void need_region(const FrameView& f, double x0, double y0, double x1, double y1, int k) {
        const Region& r = region;
        if (region_serial == frame_serial && r.k == k && x0 >= r.x0 + k && y0 >= r.y0 + k &&
            x1 <= r.x0 + (r.w - 2) * k && y1 <= r.y0 + (r.h - 2) * k)
            return;
        // A margin for the calls to come this frame (the target moves, the scale samples reach
        // a little further): a few percent more pixels instead of another pass.
        const double mx = 0.1 * (x1 - x0), my = 0.1 * (y1 - y0);
        build_region(f, x0 - mx, y0 - my, x1 + mx, y1 + my, k, region);
        region_serial = frame_serial;
    }

    // [SECTION] Position filter

    // Windowed features of the search window around (x, y) at the current scale, their spectra
    // into (re, im) (kChannels planes), and the sum of squares.
    double window_spectra(const FrameView& f, double x, double y, std::vector<float>& re,
                          std::vector<float>& im) {
        const double cell = cell0 * scale;
        const double sp = cell / kCell;
        const int pw = gw * kCell + 2, ph = gh * kCell + 2;
        const int k = std::max(1, int(std::floor(sp + 0.25)));
        const double ax = pw * 0.5 * sp + 1, ay = ph * 0.5 * sp + 1;
        const double c = std::fabs(std::cos(angle)), sn = std::fabs(std::sin(angle));
        const double hx = c * ax + sn * ay, hy = sn * ax + c * ay;
        need_region(f, x - hx, y - hy, x + hx, y + hy, k);
        patch.resize(size_t(pw) * ph);
        sample_patch(region, x, y, sp, sp, angle, pw, ph, patch.data(), fs.xi, fs.xf);
        feat.resize(cells * kChannels);
        compute_features(patch.data(), gw, gh, feat.data(), fs);
        re.resize(cells * kChannels);
        im.assign(cells * kChannels, 0.f);
        double xx = 0;
        for (int c = 0; c < kChannels; ++c) {
            const float* src = feat.data() + c * cells;
            float* dst = re.data() + c * cells;
            float acc = 0;
            for (size_t i = 0; i < cells; ++i) {
                float v = src[i] * hann[i];
                dst[i] = v;
                acc += v * v;
            }
            xx += acc;
            fft.forward(dst, im.data() + c * cells);
        }
        return xx;
    }

    // The spectrum of the Gaussian kernel correlation of x and z into (k_re, k_im).
    void gaussian_correlation(const float* xr, const float* xi, double xx, const float* zr,
                              const float* zi, double zz) {
        k_re.assign(cells, 0.f);
        k_im.assign(cells, 0.f);
        float* __restrict kr = k_re.data();
        float* __restrict ki = k_im.data();
        for (int c = 0; c < kChannels; ++c) {
            const float* __restrict ar = zr + c * cells;
            const float* __restrict ai = zi + c * cells;
            const float* __restrict br = xr + c * cells;
            const float* __restrict bi = xi + c * cells;
            for (size_t i = 0; i < cells; ++i) {  // z * conj(x)
                kr[i] += ar[i] * br[i] + ai[i] * bi[i];
                ki[i] += ai[i] * br[i] - ar[i] * bi[i];
            }
        }
        fft.inverse(kr, ki);
        const float scale_k =
            float(-1.0 / (p.kernel_sigma * p.kernel_sigma * double(cells) * kChannels));
        const float sum = float(xx + zz);
        for (size_t i = 0; i < cells; ++i) {
            float d = std::max(0.f, sum - 2 * kr[i]);
            kr[i] = std::exp(d * scale_k);
            ki[i] = 0.f;
        }
        fft.forward(kr, ki);
    }

    void train_position(const FrameView& f, double rate) {
        double xx = window_spectra(f, cx, cy, zf_re, zf_im);
        learn_position(zf_re, zf_im, xx, rate);
    }

    // Trains on a window around the target. When the last detection found it within a quarter
    // cell of that window's middle, on that window: its spectra shifted by a phase ramp so that
    // the target is in the middle, as a window sampled around it would have it (the sum of
    // squares does not change with the shift). Else on a new window.
    void train_position_where_found(const FrameView& f, double rate) {
        const double c = std::cos(seen_angle), sn = std::sin(seen_angle);
        const double ux = ((cx - seen_x) * c + (cy - seen_y) * sn) / seen_cell;
        const double uy = (-(cx - seen_x) * sn + (cy - seen_y) * c) / seen_cell;
        if (!(std::hypot(ux, uy) <= kReuseCells)) return train_position(f, rate);
        shift_re_x.resize(gw), shift_im_x.resize(gw), shift_re_y.resize(gh), shift_im_y.resize(gh);
        auto ramp = [](int n, double u, std::vector<float>& re, std::vector<float>& im) {
            for (int k = 0; k < n; ++k) {
                const int signed_k = k < n / 2 ? k : k - n;
                const double a = 2 * kPi * signed_k * u / n;
                re[k] = float(k == n / 2 ? std::cos(kPi * u) : std::cos(a));  // Nyquist: stays real
                im[k] = float(k == n / 2 ? 0.0 : std::sin(a));
            }
        };
        ramp(gw, ux, shift_re_x, shift_im_x);
        ramp(gh, uy, shift_re_y, shift_im_y);
        for (int ch = 0; ch < kChannels; ++ch) {
            float* __restrict re = zf_re.data() + ch * cells;
            float* __restrict im = zf_im.data() + ch * cells;
            for (int kx = 0; kx < gw; ++kx) {  // spectra are [kx][ky]
                const float ar = shift_re_x[kx], ai = shift_im_x[kx];
                float* __restrict rr = re + size_t(kx) * gh;
                float* __restrict ii = im + size_t(kx) * gh;
                for (int ky = 0; ky < gh; ++ky) {
                    const float wr = ar * shift_re_y[ky] - ai * shift_im_y[ky];
                    const float wi = ar * shift_im_y[ky] + ai * shift_re_y[ky];
                    const float xr = rr[ky], xi = ii[ky];
                    rr[ky] = xr * wr - xi * wi;
                    ii[ky] = xr * wi + xi * wr;
                }
            }
        }
        learn_position(zf_re, zf_im, seen_xx, rate);
    }

    void learn_position(std::vector<float>& xr, std::vector<float>& xi, double xx, double rate) {
        gaussian_correlation(xr.data(), xi.data(), xx, xr.data(), xi.data(), xx);
        const float r = float(rate), q = 1 - r;
        for (size_t i = 0; i < cells; ++i) {  // alpha = y / (k + lambda)
            float a = k_re[i] + float(p.lambda), b = k_im[i];
            float d = 1.f / (a * a + b * b);
            float ar = (yf_re[i] * a + yf_im[i] * b) * d;
            float ai = (yf_im[i] * a - yf_re[i] * b) * d;
            model_af_re[i] = q * model_af_re[i] + r * ar;
            model_af_im[i] = q * model_af_im[i] + r * ai;
        }
        for (size_t i = 0; i < cells * kChannels; ++i) {
            model_xf_re[i] = q * model_xf_re[i] + r * xr[i];
            model_xf_im[i] = q * model_xf_im[i] + r * xi[i];
        }
    }

    // Response over the search window around (cx, cy): the peak's offset in cells and the PSR.
    void detect_position(const FrameView& f, double& dx, double& dy, double& psr) {
        detect_position_at(f, cx, cy, dx, dy, psr);
    }

    // The same around (x, y): the peak's offset in cells from there, its PSR, and `peak`.
    void detect_position_at(const FrameView& f, double x, double y, double& dx, double& dy, double& psr) {
        double zz = window_spectra(f, x, y, zf_re, zf_im);
        seen_x = x, seen_y = y, seen_cell = cell0 * scale, seen_angle = angle, seen_xx = zz;
        // The model's sum of squares from its spectra (Parseval): that of the blended model.
        double xx = 0;
        for (size_t i = 0; i < cells * kChannels; ++i)
            xx += double(model_xf_re[i]) * model_xf_re[i] + double(model_xf_im[i]) * model_xf_im[i];
        xx /= double(cells);
        gaussian_correlation(model_xf_re.data(), model_xf_im.data(), xx, zf_re.data(),
                             zf_im.data(), zz);
        for (size_t i = 0; i < cells; ++i) {
            float a = model_af_re[i], b = model_af_im[i], c = k_re[i], d = k_im[i];
            k_re[i] = a * c - b * d;
            k_im[i] = a * d + b * c;
        }
        fft.inverse(k_re.data(), k_im.data());
        const float* r = k_re.data();
        size_t best = 0;
        for (size_t i = 1; i < cells; ++i)
            if (r[i] > r[best]) best = i;
        const int py = int(best / gw), px = int(best % gw);
        auto at = [&](int y, int x) { return r[size_t((y + gh) % gh) * gw + size_t((x + gw) % gw)]; };
        // A Gaussian through the peak and its neighbours (a parabola on the logarithms): the
        // response is close to the Gaussian label, and a plain parabola biases a Gaussian's peak
        // towards the nearest cell.
        auto refine = [](float l, float c, float rr) {
            double peak = c;
            if (!(peak > 0)) return 0.0;
            double fl = std::log(std::max(double(l), peak * 1e-3));
            double fc = std::log(peak);
            double fr = std::log(std::max(double(rr), peak * 1e-3));
            double den = fl - 2 * fc + fr;
            if (!(den < 0)) return 0.0;
            return std::clamp(0.5 * (fl - fr) / den, -0.5, 0.5);
        };
        double ox = px + refine(at(py, px - 1), r[best], at(py, px + 1));
        double oy = py + refine(at(py - 1, px), r[best], at(py + 1, px));
        dx = ox > gw / 2 ? ox - gw : ox;
        dy = oy > gh / 2 ? oy - gh : oy;
        // PSR: the sidelobe is everything but a window around the peak.
        const int ex = std::max(2, gw / 8), ey = std::max(2, gh / 8);
        double sum = 0, sum2 = 0;
        size_t n = 0;
        for (int y = 0; y < gh; ++y) {
            int ddy = std::abs(y - py);
            ddy = std::min(ddy, gh - ddy);
            for (int x = 0; x < gw; ++x) {
                int ddx = std::abs(x - px);
                ddx = std::min(ddx, gw - ddx);
                if (ddy <= ey && ddx <= ex) continue;
                double v = r[size_t(y) * gw + x];
                sum += v;
                sum2 += v * v;
                ++n;
            }
        }
        double mean = n ? sum / double(n) : 0;
        double var = n ? std::max(0.0, sum2 / double(n) - mean * mean) : 0;
        psr = (r[best] - mean) / std::sqrt(var + 1e-12);
        peak = r[best];
    }

    // Re-detection when the window around (cx, cy) found no sure match (the target jumped out of
    // it, or reappears beside where it was lost): the 8 windows half a window away along the
    // window's axes, each searched like the first. The best of them is taken when its peak is
    // sure (sure_psr: a jump needs more than learning does), at least update_peak of the usual
    // height, and higher than the first's peak `peak0`: (cx, cy) become its
    // centre and (dx, dy, psr, peak) its answer. Else the first's answer stands.
    bool search_wider(const FrameView& f, double peak0, double& dx, double& dy, double& psr) {
        const double cell = cell0 * scale;
        const double hx = 0.5 * gw * cell, hy = 0.5 * gh * cell;  // half a window
        const double c = std::cos(angle), sn = std::sin(angle);
        {   // one region for all nine windows
            const double sp = cell / kCell;
            const int k = std::max(1, int(std::floor(sp + 0.25)));
            const double ax = (gw * kCell + 2) * 0.5 * sp + 1 + hx, ay = (gh * kCell + 2) * 0.5 * sp + 1 + hy;
            const double ex = std::fabs(c) * ax + std::fabs(sn) * ay, ey = std::fabs(sn) * ax + std::fabs(c) * ay;
            need_region(f, cx - ex, cy - ey, cx + ex, cy + ey, k);
        }
        double best_peak = peak0, bx = 0, by = 0;
        bool found = false;
        for (int j = -1; j <= 1; ++j)
            for (int i = -1; i <= 1; ++i) {
                if (i == 0 && j == 0) continue;
                const double x = cx + c * i * hx - sn * j * hy, y = cy + sn * i * hx + c * j * hy;
                double ddx = 0, ddy = 0, ps = 0;
                detect_position_at(f, x, y, ddx, ddy, ps);
                const double rel = mean_peak > 0 ? peak / mean_peak : 1.0;
                if (ps >= p.sure_psr && rel >= p.update_peak && peak > best_peak) {
                    best_peak = peak, bx = x, by = y;
                    found = true;
                }
            }
        if (!found) {
            peak = peak0;  // the first window's answer stands (nothing is learnt from it, so
            return false;  // its spectra, now overwritten, are not needed again)
        }
        cx = bx, cy = by;
        detect_position_at(f, cx, cy, dx, dy, psr);
        return true;
    }

    // [SECTION] Scale and rotation filters

    // Target-sized samples around (cx, cy): at scales step^e (rotation false) or at angles
    // angle + e * step (rotation true), e = -(n-1)/2 .. (n-1)/2, into the filter's samples.
    void sample_series(const FrameView& f, SeriesFilter& sf, double step, bool rotation) {
        const int pw = sgw * kCell + 2, ph = sgh * kCell + 2;
        const double tw = base_w * scale, th = base_h * scale;
        const double reach = rotation ? 1.0 : std::pow(step, (sf.n - 1) / 2.0);
        // The blocks of the position window's region, so that one region serves both.
        const int k = std::max(1, int(std::floor(cell0 * scale / kCell + 0.25)));
        const double rad = 0.5 * std::hypot(tw, th) * reach * (1 + 2.0 / std::min(sgw, sgh)) + 2;
        need_region(f, cx - rad, cy - rad, cx + rad, cy + rad, k);
        patch.resize(size_t(pw) * ph);
        for (int i = 0; i < sf.n; ++i) {
            const double e = i - (sf.n - 1) / 2.0;
            const double sc = rotation ? 1.0 : std::pow(step, e);
            const double an = rotation ? angle + e * step : angle;
            sample_patch(region, cx, cy, tw * sc / (sgw * kCell), th * sc / (sgh * kCell), an, pw, ph,
                         patch.data(), fs.xi, fs.xf);
            compute_features(patch.data(), sgw, sgh, sf.sample(i), fs);
        }
        sf.transform();
        if (!rotation) scales_seen_at = scale;
    }

    // Trains the scale filter on the samples it detected with when the target's scale is near
    // their middle (the label moved there), or else on new ones around it. (The same for the
    // angles lost accuracy on turning objects: they are sampled again.)
    void train_scales(const FrameView& f, double rate) {
        const double shift = std::log(scale / scales_seen_at) / std::log(p.scale_step);
        if (std::fabs(shift) <= kReuseScaleSteps) return scales.train(rate, shift);
        sample_series(f, scales, p.scale_step, false);
        scales.train(rate);
    }

    // [SECTION] Set-up

    void setup(const FrameView& f, const Rect& box) {
        frame_w = f.width;
        frame_h = f.height;
        base_w = box.w;
        base_h = box.h;
        scale = 1;
        cx = box.x + box.w / 2;
        cy = box.y + box.h / 2;
        const double win_w = box.w * (1 + p.padding), win_h = box.h * (1 + p.padding);
        gw = next_pow2_round(32 * std::sqrt(win_w / win_h));
        gh = std::clamp(1024 / gw, 8, 128);
        cell0 = std::max(win_w / gw, win_h / gh);
        cells = size_t(gw) * gh;
        fft.make(gw, gh);
        hann.resize(cells);
        for (int y = 0; y < gh; ++y)
            for (int x = 0; x < gw; ++x)
                hann[size_t(y) * gw + x] = float((0.5 - 0.5 * std::cos(2 * kPi * x / (gw - 1))) *
                                                 (0.5 - 0.5 * std::cos(2 * kPi * y / (gh - 1))));
        const double sigma = p.output_sigma * std::sqrt(box.w * box.h) / cell0;
        yf_re.resize(cells);
        yf_im.assign(cells, 0.f);
        for (int y = 0; y < gh; ++y) {
            int dy = y > gh / 2 ? y - gh : y;
            for (int x = 0; x < gw; ++x) {
                int dx = x > gw / 2 ? x - gw : x;
                yf_re[size_t(y) * gw + x] = float(std::exp(-0.5 * (dx * dx + dy * dy) / (sigma * sigma)));
            }
        }
        fft.forward(yf_re.data(), yf_im.data());
        model_xf_re.assign(cells * kChannels, 0.f);
        model_xf_im.assign(cells * kChannels, 0.f);
        model_af_re.assign(cells, 0.f);
        model_af_im.assign(cells, 0.f);

        const double aspect = box.w / box.h;
        sgw = std::clamp(int(std::lround(std::sqrt(32 * aspect))), 2, 16);
        sgh = std::clamp(int(std::lround(std::sqrt(32 / aspect))), 2, 16);
        scales.make(std::max(3, p.scale_count | 1), sgw * sgh * kChannels);
        angles.make(p.angle_count > 1 ? (p.angle_count | 1) : 0, sgw * sgh * kChannels);
        angle = 0;
        start_cx = cx;
        start_cy = cy;
        min_scale = 4.0 / std::min(base_w, base_h);
        max_scale = std::max(1.0, std::min(frame_w / base_w, frame_h / base_h));
        mean_peak = 0;

        ++frame_serial;
        train_position(f, 1.0);
        sample_series(f, scales, p.scale_step, false);
        scales.train(1.0);
        if (angles.n) {
            sample_series(f, angles, p.angle_step_degrees * kPi / 180, true);
            angles.train(1.0);
        }
        ready = true;
    }
};

// [SECTION] Public API

Tracker::Tracker() : Tracker(TrackerParams{}) {}
Tracker::Tracker(const TrackerParams& params) : s_(std::make_unique<State>()) { s_->p = params; }
Tracker::~Tracker() = default;
Tracker::Tracker(Tracker&&) noexcept = default;
Tracker& Tracker::operator=(Tracker&&) noexcept = default;

bool Tracker::initialised() const { return s_ && s_->ready; }
Rect Tracker::box() const { return initialised() ? s_->current_box() : Rect{}; }

static std::optional<Error> frame_error(const FrameView& f) {
    const int bpp = f.format == PixelFormat::rgba8 ? 4 : 1;
    if (f.width <= 0 || f.height <= 0 || !f.pixels || f.stride < f.width * bpp)
        return Error{"bad_frame", "frame",
                     "frame " + std::to_string(f.width) + "x" + std::to_string(f.height) + " stride " +
                         std::to_string(f.stride) + ": empty, without pixels, or rows shorter than its width"};
    return std::nullopt;
}

Expected<bool> Tracker::init(const FrameView& frame, const Rect& box) {
    if (!s_) s_ = std::make_unique<State>();
    s_->ready = false;
    if (auto e = frame_error(frame)) return *e;
    if (!std::isfinite(box.x) || !std::isfinite(box.y) || !std::isfinite(box.w) || !std::isfinite(box.h))
        return box_error("box_not_finite", box, "a coordinate is not a finite number");
    if (box.w <= 0 || box.h <= 0) return box_error("box_empty", box, "zero or negative size");
    if (box.w < 4 || box.h < 4) return box_error("box_too_small", box, "the tracker needs at least 4 x 4 pixels");
    constexpr double tol = 1e-6;
    if (box.x < -tol || box.y < -tol || box.x + box.w > frame.width + tol || box.y + box.h > frame.height + tol)
        return box_error("box_outside_image", box,
                         "not inside the " + std::to_string(frame.width) + "x" + std::to_string(frame.height) + " frame");
    s_->setup(frame, box);
    return true;
}

Expected<TrackResult> Tracker::update(const FrameView& frame) {
    if (!initialised()) return Error{"not_initialised", "tracker", "update() before a successful init()"};
    if (auto e = frame_error(frame)) return *e;
    State& s = *s_;
    if (frame.width != s.frame_w || frame.height != s.frame_h)
        return Error{"bad_frame", "frame",
                     "frame " + std::to_string(frame.width) + "x" + std::to_string(frame.height) +
                         " differs from the " + std::to_string(s.frame_w) + "x" + std::to_string(s.frame_h) +
                         " frame the tracker started on"};
    const Rect before = s.current_box();
    ++s.frame_serial;
    TrackResult out;
    double dx = 0, dy = 0, psr = 0;
    const double before_cx = s.cx, before_cy = s.cy, before_scale = s.scale, before_angle = s.angle;
    s.detect_position(frame, dx, dy, psr);
    if (s.p.redetect && s.mean_peak > 0 &&
        (psr < s.p.update_psr || s.peak < s.p.update_peak * s.mean_peak))
        s.search_wider(frame, s.peak, dx, dy, psr);
    // Two signs of a match: a sharp peak (PSR), and a peak as high as usual. An occluder or the
    // frame's edge still leaves the context around the target matching, so the PSR alone stays
    // moderate; the peak's height relative to its running mean drops to a third or less.
    const double relative = s.mean_peak > 0 ? s.peak / s.mean_peak : 1.0;
    out.psr = psr;
    out.peak_ratio = relative;
    out.confidence = std::clamp(std::min((psr - s.p.lost_psr) / (2 * s.p.update_psr - s.p.lost_psr),
                                         (relative - s.p.lost_peak) / (1 - s.p.lost_peak)),
                                0.0, 1.0);
    if (!(psr >= s.p.lost_psr) || (!(relative >= s.p.lost_peak) && !(psr >= s.p.sure_psr))) {
        out.lost = true;
        out.box = before;
        out.angle = s.angle;
        out.since_start = similarity_between(s.start_cx, s.start_cy, 1.0, 0.0, s.cx, s.cy, s.scale, s.angle);
        return out;
    }
    const double cell = s.cell0 * s.scale;
    auto move = [&](double ddx, double ddy) {  // cells along the window's turned axes
        const double c = std::cos(s.angle), sn = std::sin(s.angle);
        s.cx = std::clamp(s.cx + (c * ddx - sn * ddy) * cell, 0.0, double(s.frame_w));
        s.cy = std::clamp(s.cy + (sn * ddx + c * ddy) * cell, 0.0, double(s.frame_h));
    };
    move(dx, dy);
    // The window weights the middle of the search area most, which pulls a moving target's peak
    // back towards where it was; looking again from the new centre removes most of that lag.
    if (dx * dx + dy * dy > 0.25) {
        double psr2 = 0;
        s.detect_position(frame, dx, dy, psr2);
        if (psr2 >= s.p.lost_psr) move(dx, dy);
    }
    s.sample_series(frame, s.scales, s.p.scale_step, false);
    const double steps = std::clamp(s.scales.detect(s.p.scale_lambda), -s.p.max_scale_steps, s.p.max_scale_steps);
    s.scale = std::clamp(s.scale * std::pow(s.p.scale_step, steps), s.min_scale, s.max_scale);
    if (s.angles.n) {
        const double step = s.p.angle_step_degrees * kPi / 180;
        s.sample_series(frame, s.angles, step, true);
        const double turn = s.angles.detect(s.p.scale_lambda);
        s.angle += turn * step;
        // As with the position, the window over the samples pulls the answer towards no change;
        // a second look from the new angle takes most of the rest.
        if (std::fabs(turn) > 0.25) {
            s.sample_series(frame, s.angles, step, true);
            s.angle += s.angles.detect(s.p.scale_lambda) * step;
        }
    }
    out.box = s.current_box();
    // How much of the box lies inside the frame: the features of the rest are made-up pixels.
    const double ix = std::max(0.0, std::min(out.box.x + out.box.w, double(s.frame_w)) - std::max(out.box.x, 0.0));
    const double iy = std::max(0.0, std::min(out.box.y + out.box.h, double(s.frame_h)) - std::max(out.box.y, 0.0));
    const double visible = ix * iy / (out.box.w * out.box.h);
    if (visible < 0.25) out.lost = true;
    if (psr >= s.p.update_psr && relative >= s.p.update_peak && visible > 0.75) {
        s.mean_peak = s.mean_peak > 0 ? 0.8 * s.mean_peak + 0.2 * s.peak : s.peak;
        s.train_position_where_found(frame, s.p.learning_rate);
        s.train_scales(frame, s.p.scale_learning_rate);
        if (s.angles.n) {
            s.sample_series(frame, s.angles, s.p.angle_step_degrees * kPi / 180, true);
            s.angles.train(s.p.angle_learning_rate);
        }
    } else {
        // Found but not learnt from: let the usual height follow a slowly changing look
        // (a turning object) slowly, so that the models learn again; not so fast that a long
        // occlusion makes the occluder's peak the usual one.
        s.mean_peak = (1 - s.p.unlearnt_peak_rate) * s.mean_peak + s.p.unlearnt_peak_rate * s.peak;
    }
    out.angle = s.angle;
    out.motion = similarity_between(before_cx, before_cy, before_scale, before_angle, s.cx, s.cy, s.scale, s.angle);
    out.since_start = similarity_between(s.start_cx, s.start_cy, 1.0, 0.0, s.cx, s.cy, s.scale, s.angle);
    return out;
}

// [SECTION] Polygon motion

Similarity box_motion(const Rect& from, const Rect& to) {
    Similarity m;
    if (!(from.w > 0 && from.h > 0)) return m;
    const double s = 0.5 * (to.w / from.w + to.h / from.h);
    m.a = s;
    m.b = 0;
    m.tx = (to.x + to.w / 2) - s * (from.x + from.w / 2);
    m.ty = (to.y + to.h / 2) - s * (from.y + from.h / 2);
    return m;
}

Similarity fit_similarity(const std::vector<double>& from, const std::vector<double>& to) {
    Similarity m;
    const size_t n = std::min(from.size(), to.size()) / 2;
    if (n < 2) return m;
    double fx = 0, fy = 0, tx = 0, ty = 0;
    for (size_t i = 0; i < n; ++i) {
        fx += from[2 * i];
        fy += from[2 * i + 1];
        tx += to[2 * i];
        ty += to[2 * i + 1];
    }
    fx /= double(n), fy /= double(n), tx /= double(n), ty /= double(n);
    double sxx = 0, sxy = 0, ss = 0;
    for (size_t i = 0; i < n; ++i) {
        double x = from[2 * i] - fx, y = from[2 * i + 1] - fy;
        double u = to[2 * i] - tx, v = to[2 * i + 1] - ty;
        sxx += x * u + y * v;
        sxy += x * v - y * u;
        ss += x * x + y * y;
    }
    if (!(ss > 0)) return m;
    m.a = sxx / ss;
    m.b = sxy / ss;
    m.tx = tx - (m.a * fx - m.b * fy);
    m.ty = ty - (m.b * fx + m.a * fy);
    return m;
}

std::vector<double> move_polygon(const std::vector<double>& polygon, const Similarity& motion) {
    std::vector<double> out(polygon.size());
    for (size_t i = 0; i + 1 < polygon.size(); i += 2) {
        Vec2 q = motion.apply({polygon[i], polygon[i + 1]});
        out[i] = q.x;
        out[i + 1] = q.y;
    }
    return out;
}

}  // namespace pm
