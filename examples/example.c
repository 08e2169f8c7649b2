/* The README's example as a program: softmax and a fused cross-entropy through the installed library. */
#include <simdmax.h>
#include <stdio.h>

int main(void) {
  float logits[2][5] = {{1, 2, 3, 4, 5}, {0, 0, 0, 0, 30}};
  float probs[2][5], dlogits[2][5], loss;
  int64_t targets[2] = {4, 4};

  smx_softmax_f32(2, 5, &logits[0][0], 5, &probs[0][0], 5); /* rows, n, x, ldx, y, ldy */

  smx_xent_options opts;
  smx_xent_options_default(&opts); /* softmax, mean, ignore_index -100 */
  opts.label_smoothing = 0.1f;
  smx_status s = smx_cross_entropy_f32(2, 5, &logits[0][0], 5, targets, &opts, &loss, &dlogits[0][0], 5, 1.0f);
  if (s != SMX_OK) {
    fprintf(stderr, "%s\n", smx_strerror(s));
    return 1;
  }
  printf("simdmax %s on %s: p[0] = %.6f %.6f %.6f %.6f %.6f, loss %.6f\n", smx_version(), smx_isa_name(smx_active_isa()),
         probs[0][0], probs[0][1], probs[0][2], probs[0][3], probs[0][4], loss);
  return probs[0][4] > 0.63f && probs[0][4] < 0.64f && loss > 0.0f ? 0 : 1;
}
