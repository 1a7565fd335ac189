;; Kernels that run on tfjs-backend-wasm's own memory (imported), for the ops where tfjs-wasm's
;; kernels are per-element index loops and JavaScript loops over the heap cost 2-10 ns per element.
;; Pointers are byte offsets into that memory; counts and strides are in 4-byte elements
;; (float32 or int32). scripts/build-wasm.mjs compiles this file into kernels.generated.ts; a test
;; checks that the two agree.
(module
  (import "env" "memory" (memory 1 65536 shared))

  ;; out[i] = x[i] > 0 ? g[i] : 0, as a bit mask: NaN and -0 in x select 0, g's bits pass unchanged.
  (func (export "relu_backward") (param $g i32) (param $x i32) (param $out i32) (param $n i32)
    (local $i i32) (local $end i32)
    (local.set $end (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (block $vec_done
      (loop $vec
        (br_if $vec_done (i32.ge_u (local.get $i) (local.get $end)))
        (v128.store (i32.add (local.get $out) (local.get $i))
          (v128.and
            (v128.load (i32.add (local.get $g) (local.get $i)))
            (f32x4.gt (v128.load (i32.add (local.get $x) (local.get $i))) (v128.const f32x4 0 0 0 0))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $vec)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (block $tail_done
      (loop $tail
        (br_if $tail_done (i32.ge_u (local.get $i) (local.get $end)))
        (i32.store (i32.add (local.get $out) (local.get $i))
          (select
            (i32.load (i32.add (local.get $g) (local.get $i)))
            (i32.const 0)
            (f32.gt (f32.load (i32.add (local.get $x) (local.get $i))) (f32.const 0))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $tail))))

  ;; dst[i0*d0 + i1*d1 + i2*d2 + i3*d3] = src[i0*s0 + i1*s1 + i2*s2 + i3*s3] over the box n0 x n1 x
  ;; n2 x n3: transposes, strided slices and their scatter, interleaves, broadcasts (stride 0).
  (func (export "copy4d") (param $src i32) (param $dst i32)
    (param $n0 i32) (param $n1 i32) (param $n2 i32) (param $n3 i32)
    (param $s0 i32) (param $s1 i32) (param $s2 i32) (param $s3 i32)
    (param $d0 i32) (param $d1 i32) (param $d2 i32) (param $d3 i32)
    (local $i0 i32) (local $i1 i32) (local $p0 i32) (local $q0 i32) (local $p1 i32) (local $q1 i32)
    (if (i32.eqz (i32.mul (i32.mul (local.get $n0) (local.get $n1)) (i32.mul (local.get $n2) (local.get $n3))))
      (then (return)))
    (local.set $p0 (local.get $src))
    (local.set $q0 (local.get $dst))
    (local.set $i0 (local.get $n0))
    (loop $l0
      (local.set $p1 (local.get $p0))
      (local.set $q1 (local.get $q0))
      (local.set $i1 (local.get $n1))
      (loop $l1
        (call $copy2d (local.get $p1) (local.get $q1) (local.get $n2) (local.get $n3)
          (i32.shl (local.get $s2) (i32.const 2)) (i32.shl (local.get $s3) (i32.const 2))
          (i32.shl (local.get $d2) (i32.const 2)) (i32.shl (local.get $d3) (i32.const 2)))
        (local.set $p1 (i32.add (local.get $p1) (i32.shl (local.get $s1) (i32.const 2))))
        (local.set $q1 (i32.add (local.get $q1) (i32.shl (local.get $d1) (i32.const 2))))
        (br_if $l1 (local.tee $i1 (i32.sub (local.get $i1) (i32.const 1)))))
      (local.set $p0 (i32.add (local.get $p0) (i32.shl (local.get $s0) (i32.const 2))))
      (local.set $q0 (i32.add (local.get $q0) (i32.shl (local.get $d0) (i32.const 2))))
      (br_if $l0 (local.tee $i0 (i32.sub (local.get $i0) (i32.const 1))))))

  ;; The two inner dims of copy4d (strides in bytes, n2, n3 > 0): contiguous rows are bulk copies;
  ;; a transpose (src unit stride along i2, dst along i3) moves 4x4 tiles through registers; a
  ;; stride-2 gather (im2col of a strided convolution) takes the even lanes of two vectors.
  (func $copy2d (param $src i32) (param $dst i32) (param $n2 i32) (param $n3 i32)
    (param $s2 i32) (param $s3 i32) (param $d2 i32) (param $d3 i32)
    (local $i2 i32) (local $i3 i32) (local $p i32) (local $q i32) (local $n2f i32) (local $n3f i32)
    (local $r0 v128) (local $r1 v128) (local $r2 v128) (local $r3 v128)
    (local $t0 v128) (local $t1 v128) (local $t2 v128) (local $t3 v128)
    (if (i32.and (i32.eq (local.get $s3) (i32.const 4)) (i32.eq (local.get $d3) (i32.const 4)))
      (then
        (loop $rows
          (memory.copy (local.get $dst) (local.get $src) (i32.shl (local.get $n3) (i32.const 2)))
          (local.set $src (i32.add (local.get $src) (local.get $s2)))
          (local.set $dst (i32.add (local.get $dst) (local.get $d2)))
          (br_if $rows (local.tee $n2 (i32.sub (local.get $n2) (i32.const 1)))))
        (return)))
    (if (i32.and
          (i32.and (i32.eq (local.get $s2) (i32.const 4)) (i32.eq (local.get $d3) (i32.const 4)))
          (i32.and (i32.ge_u (local.get $n2) (i32.const 4)) (i32.ge_u (local.get $n3) (i32.const 4))))
      (then
        (local.set $n2f (i32.and (local.get $n2) (i32.const -4)))
        (local.set $n3f (i32.and (local.get $n3) (i32.const -4)))
        (local.set $i2 (i32.const 0))
        (loop $tile_rows
          (local.set $i3 (i32.const 0))
          (loop $tiles
            ;; r_j holds src (i2 .. i2+3, i3 + j); o_k = (r_0[k] .. r_3[k]) goes to dst row i2 + k
            (local.set $p (i32.add (i32.add (local.get $src) (i32.shl (local.get $i2) (i32.const 2)))
              (i32.mul (local.get $i3) (local.get $s3))))
            (local.set $r0 (v128.load (local.get $p)))
            (local.set $r1 (v128.load (i32.add (local.get $p) (local.get $s3))))
            (local.set $r2 (v128.load (i32.add (local.get $p) (i32.shl (local.get $s3) (i32.const 1)))))
            (local.set $r3 (v128.load (i32.add (local.get $p) (i32.mul (local.get $s3) (i32.const 3)))))
            (local.set $t0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $r0) (local.get $r1)))
            (local.set $t1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $r0) (local.get $r1)))
            (local.set $t2 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $r2) (local.get $r3)))
            (local.set $t3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $r2) (local.get $r3)))
            (local.set $q (i32.add (i32.add (local.get $dst) (i32.mul (local.get $i2) (local.get $d2)))
              (i32.shl (local.get $i3) (i32.const 2))))
            (v128.store (local.get $q) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t0) (local.get $t2)))
            (v128.store (i32.add (local.get $q) (local.get $d2))
              (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t0) (local.get $t2)))
            (v128.store (i32.add (local.get $q) (i32.shl (local.get $d2) (i32.const 1)))
              (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t1) (local.get $t3)))
            (v128.store (i32.add (local.get $q) (i32.mul (local.get $d2) (i32.const 3)))
              (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t1) (local.get $t3)))
            (br_if $tiles (i32.lt_u (local.tee $i3 (i32.add (local.get $i3) (i32.const 4))) (local.get $n3f))))
          (br_if $tile_rows (i32.lt_u (local.tee $i2 (i32.add (local.get $i2) (i32.const 4))) (local.get $n2f))))
        ;; the columns right of the tiles, then the rows below them
        (if (i32.lt_u (local.get $n3f) (local.get $n3))
          (then (call $copy2d
            (i32.add (local.get $src) (i32.mul (local.get $n3f) (local.get $s3)))
            (i32.add (local.get $dst) (i32.shl (local.get $n3f) (i32.const 2)))
            (local.get $n2f) (i32.sub (local.get $n3) (local.get $n3f))
            (local.get $s2) (local.get $s3) (local.get $d2) (local.get $d3))))
        (if (i32.lt_u (local.get $n2f) (local.get $n2))
          (then (call $copy2d
            (i32.add (local.get $src) (i32.shl (local.get $n2f) (i32.const 2)))
            (i32.add (local.get $dst) (i32.mul (local.get $n2f) (local.get $d2)))
            (i32.sub (local.get $n2) (local.get $n2f)) (local.get $n3)
            (local.get $s2) (local.get $s3) (local.get $d2) (local.get $d3))))
        (return)))
    (loop $l2
      (local.set $p (local.get $src))
      (local.set $q (local.get $dst))
      (local.set $i3 (local.get $n3))
      (if (i32.and (i32.eq (local.get $s3) (i32.const 8)) (i32.eq (local.get $d3) (i32.const 4)))
        (then
          ;; four outputs read source elements 0 .. 7 of the run: only while 5 or more remain
          (block $even_done
            (loop $even
              (br_if $even_done (i32.lt_u (local.get $i3) (i32.const 5)))
              (v128.store (local.get $q)
                (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27
                  (v128.load (local.get $p)) (v128.load (i32.add (local.get $p) (i32.const 16)))))
              (local.set $p (i32.add (local.get $p) (i32.const 32)))
              (local.set $q (i32.add (local.get $q) (i32.const 16)))
              (local.set $i3 (i32.sub (local.get $i3) (i32.const 4)))
              (br $even)))))
      (block $l3_done
        (loop $l3
          (br_if $l3_done (i32.eqz (local.get $i3)))
          (i32.store (local.get $q) (i32.load (local.get $p)))
          (local.set $p (i32.add (local.get $p) (local.get $s3)))
          (local.set $q (i32.add (local.get $q) (local.get $d3)))
          (local.set $i3 (i32.sub (local.get $i3) (i32.const 1)))
          (br $l3)))
      (local.set $src (i32.add (local.get $src) (local.get $s2)))
      (local.set $dst (i32.add (local.get $dst) (local.get $d2)))
      (br_if $l2 (local.tee $n2 (i32.sub (local.get $n2) (i32.const 1))))))

  ;; float32 out[t, i, j] = sum over k of a[t*sab + i*sam + k*sak] * b[t*sbb + k*sbk + j] for t <
  ;; batch, i < m, j < n (out contiguous; strides in elements, 0 to broadcast a batch operand).
  ;; For products too small to repay an XNNPACK call (which packs its right operand every time):
  ;; eight (then four) output columns per pass through k, accumulated in k order.
  (func (export "gemm") (param $a i32) (param $b i32) (param $out i32)
    (param $batch i32) (param $m i32) (param $n i32) (param $k i32)
    (param $sab i32) (param $sam i32) (param $sak i32) (param $sbb i32) (param $sbk i32)
    (local $t i32) (local $i i32) (local $j i32) (local $kk i32)
    (local $row i32) (local $pa i32) (local $pb i32) (local $bt i32)
    (local $acc0 v128) (local $acc1 v128) (local $av v128) (local $s f32)
    (local.set $sab (i32.shl (local.get $sab) (i32.const 2)))
    (local.set $sam (i32.shl (local.get $sam) (i32.const 2)))
    (local.set $sak (i32.shl (local.get $sak) (i32.const 2)))
    (local.set $sbb (i32.shl (local.get $sbb) (i32.const 2)))
    (local.set $sbk (i32.shl (local.get $sbk) (i32.const 2)))
    (block $t_done
      (loop $tl
        (br_if $t_done (i32.ge_u (local.get $t) (local.get $batch)))
        (local.set $bt (i32.add (local.get $b) (i32.mul (local.get $t) (local.get $sbb))))
        (local.set $i (i32.const 0))
        (block $i_done
          (loop $il
            (br_if $i_done (i32.ge_u (local.get $i) (local.get $m)))
            (local.set $row (i32.add (i32.add (local.get $a) (i32.mul (local.get $t) (local.get $sab)))
              (i32.mul (local.get $i) (local.get $sam))))
            (local.set $j (i32.const 0))
            (block $j8_done
              (loop $j8
                (br_if $j8_done (i32.gt_u (i32.add (local.get $j) (i32.const 8)) (local.get $n)))
                (local.set $acc0 (v128.const f32x4 0 0 0 0))
                (local.set $acc1 (v128.const f32x4 0 0 0 0))
                (local.set $pa (local.get $row))
                (local.set $pb (i32.add (local.get $bt) (i32.shl (local.get $j) (i32.const 2))))
                (local.set $kk (local.get $k))
                (block $k8_done
                  (loop $k8
                    (br_if $k8_done (i32.eqz (local.get $kk)))
                    (local.set $av (v128.load32_splat (local.get $pa)))
                    (local.set $acc0 (f32x4.add (local.get $acc0) (f32x4.mul (local.get $av) (v128.load (local.get $pb)))))
                    (local.set $acc1 (f32x4.add (local.get $acc1) (f32x4.mul (local.get $av) (v128.load offset=16 (local.get $pb)))))
                    (local.set $pa (i32.add (local.get $pa) (local.get $sak)))
                    (local.set $pb (i32.add (local.get $pb) (local.get $sbk)))
                    (local.set $kk (i32.sub (local.get $kk) (i32.const 1)))
                    (br $k8)))
                (v128.store (local.get $out) (local.get $acc0))
                (v128.store offset=16 (local.get $out) (local.get $acc1))
                (local.set $out (i32.add (local.get $out) (i32.const 32)))
                (local.set $j (i32.add (local.get $j) (i32.const 8)))
                (br $j8)))
            (if (i32.le_u (i32.add (local.get $j) (i32.const 4)) (local.get $n))
              (then
                (local.set $acc0 (v128.const f32x4 0 0 0 0))
                (local.set $pa (local.get $row))
                (local.set $pb (i32.add (local.get $bt) (i32.shl (local.get $j) (i32.const 2))))
                (local.set $kk (local.get $k))
                (block $k4_done
                  (loop $k4
                    (br_if $k4_done (i32.eqz (local.get $kk)))
                    (local.set $acc0 (f32x4.add (local.get $acc0)
                      (f32x4.mul (v128.load32_splat (local.get $pa)) (v128.load (local.get $pb)))))
                    (local.set $pa (i32.add (local.get $pa) (local.get $sak)))
                    (local.set $pb (i32.add (local.get $pb) (local.get $sbk)))
                    (local.set $kk (i32.sub (local.get $kk) (i32.const 1)))
                    (br $k4)))
                (v128.store (local.get $out) (local.get $acc0))
                (local.set $out (i32.add (local.get $out) (i32.const 16)))
                (local.set $j (i32.add (local.get $j) (i32.const 4)))))
            (block $j1_done
              (loop $j1
                (br_if $j1_done (i32.ge_u (local.get $j) (local.get $n)))
                (local.set $s (f32.const 0))
                (local.set $pa (local.get $row))
                (local.set $pb (i32.add (local.get $bt) (i32.shl (local.get $j) (i32.const 2))))
                (local.set $kk (local.get $k))
                (block $k1_done
                  (loop $k1
                    (br_if $k1_done (i32.eqz (local.get $kk)))
                    (local.set $s (f32.add (local.get $s) (f32.mul (f32.load (local.get $pa)) (f32.load (local.get $pb)))))
                    (local.set $pa (i32.add (local.get $pa) (local.get $sak)))
                    (local.set $pb (i32.add (local.get $pb) (local.get $sbk)))
                    (local.set $kk (i32.sub (local.get $kk) (i32.const 1)))
                    (br $k1)))
                (f32.store (local.get $out) (local.get $s))
                (local.set $out (i32.add (local.get $out) (i32.const 4)))
                (local.set $j (i32.add (local.get $j) (i32.const 1)))
                (br $j1)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $il)))
        (local.set $t (i32.add (local.get $t) (i32.const 1)))
        (br $tl))))

  ;; float32 out[i0, i1, i2, i3] = maximum (op 0) or minimum (op 1) of a[...] and b[...], out
  ;; contiguous, a and b at element strides (0 along broadcast dims), as the reference computes it:
  ;; a where a > b (a < b) or a is NaN, else b. A contiguous or broadcast innermost operand runs
  ;; four lanes at a time.
  (func (export "extremum4d") (param $op i32) (param $a i32) (param $b i32) (param $out i32)
    (param $n0 i32) (param $n1 i32) (param $n2 i32) (param $n3 i32)
    (param $a0 i32) (param $a1 i32) (param $a2 i32) (param $a3 i32)
    (param $b0 i32) (param $b1 i32) (param $b2 i32) (param $b3 i32)
    (local $i0 i32) (local $i1 i32) (local $i2 i32) (local $i3 i32)
    (local $pa0 i32) (local $pb0 i32) (local $pa1 i32) (local $pb1 i32) (local $pa i32) (local $pb i32)
    (local $kind i32) (local $va v128) (local $vb v128)
    (if (i32.eqz (i32.mul (i32.mul (local.get $n0) (local.get $n1)) (i32.mul (local.get $n2) (local.get $n3))))
      (then (return)))
    ;; innermost strides: both 1 (kind 0), a 1 and b 0 (1), a 0 and b 1 (2), else one lane (3)
    (local.set $kind (i32.const 3))
    (if (i32.and (i32.eq (local.get $a3) (i32.const 1)) (i32.eq (local.get $b3) (i32.const 1))) (then (local.set $kind (i32.const 0))))
    (if (i32.and (i32.eq (local.get $a3) (i32.const 1)) (i32.eqz (local.get $b3))) (then (local.set $kind (i32.const 1))))
    (if (i32.and (i32.eqz (local.get $a3)) (i32.eq (local.get $b3) (i32.const 1))) (then (local.set $kind (i32.const 2))))
    (local.set $a0 (i32.shl (local.get $a0) (i32.const 2)))
    (local.set $a1 (i32.shl (local.get $a1) (i32.const 2)))
    (local.set $a2 (i32.shl (local.get $a2) (i32.const 2)))
    (local.set $a3 (i32.shl (local.get $a3) (i32.const 2)))
    (local.set $b0 (i32.shl (local.get $b0) (i32.const 2)))
    (local.set $b1 (i32.shl (local.get $b1) (i32.const 2)))
    (local.set $b2 (i32.shl (local.get $b2) (i32.const 2)))
    (local.set $b3 (i32.shl (local.get $b3) (i32.const 2)))
    (local.set $pa0 (local.get $a))
    (local.set $pb0 (local.get $b))
    (local.set $i0 (local.get $n0))
    (loop $l0
      (local.set $pa1 (local.get $pa0))
      (local.set $pb1 (local.get $pb0))
      (local.set $i1 (local.get $n1))
      (loop $l1
        (local.set $pa (local.get $pa1))
        (local.set $pb (local.get $pb1))
        (local.set $i2 (local.get $n2))
        (loop $l2
          (local.set $i3 (local.get $n3))
          (if (i32.eq (local.get $kind) (i32.const 0))
            (then
              (block $v0_done
                (loop $v0
                  (br_if $v0_done (i32.lt_u (local.get $i3) (i32.const 4)))
                  (v128.store (local.get $out) (call $apply (local.get $op) (v128.load (local.get $pa)) (v128.load (local.get $pb))))
                  (local.set $pa (i32.add (local.get $pa) (i32.const 16)))
                  (local.set $pb (i32.add (local.get $pb) (i32.const 16)))
                  (local.set $out (i32.add (local.get $out) (i32.const 16)))
                  (local.set $i3 (i32.sub (local.get $i3) (i32.const 4)))
                  (br $v0)))))
          (if (i32.eq (local.get $kind) (i32.const 1))
            (then
              (local.set $vb (v128.load32_splat (local.get $pb)))
              (block $v1_done
                (loop $v1
                  (br_if $v1_done (i32.lt_u (local.get $i3) (i32.const 4)))
                  (v128.store (local.get $out) (call $apply (local.get $op) (v128.load (local.get $pa)) (local.get $vb)))
                  (local.set $pa (i32.add (local.get $pa) (i32.const 16)))
                  (local.set $out (i32.add (local.get $out) (i32.const 16)))
                  (local.set $i3 (i32.sub (local.get $i3) (i32.const 4)))
                  (br $v1)))))
          (if (i32.eq (local.get $kind) (i32.const 2))
            (then
              (local.set $va (v128.load32_splat (local.get $pa)))
              (block $v2_done
                (loop $v2
                  (br_if $v2_done (i32.lt_u (local.get $i3) (i32.const 4)))
                  (v128.store (local.get $out) (call $apply (local.get $op) (local.get $va) (v128.load (local.get $pb))))
                  (local.set $pb (i32.add (local.get $pb) (i32.const 16)))
                  (local.set $out (i32.add (local.get $out) (i32.const 16)))
                  (local.set $i3 (i32.sub (local.get $i3) (i32.const 4)))
                  (br $v2)))))
          ;; the rest of the row (all of it for kind 3), one lane at a time
          (block $s_done
            (loop $s
              (br_if $s_done (i32.eqz (local.get $i3)))
              (f32.store (local.get $out) (f32x4.extract_lane 0 (call $apply (local.get $op)
                (v128.load32_splat (local.get $pa)) (v128.load32_splat (local.get $pb)))))
              (local.set $pa (i32.add (local.get $pa) (local.get $a3)))
              (local.set $pb (i32.add (local.get $pb) (local.get $b3)))
              (local.set $out (i32.add (local.get $out) (i32.const 4)))
              (local.set $i3 (i32.sub (local.get $i3) (i32.const 1)))
              (br $s)))
          ;; back to the row's start, then one step along i2
          (local.set $pa (i32.add (i32.sub (local.get $pa) (i32.mul (local.get $n3) (local.get $a3))) (local.get $a2)))
          (local.set $pb (i32.add (i32.sub (local.get $pb) (i32.mul (local.get $n3) (local.get $b3))) (local.get $b2)))
          (br_if $l2 (local.tee $i2 (i32.sub (local.get $i2) (i32.const 1)))))
        (local.set $pa1 (i32.add (local.get $pa1) (local.get $a1)))
        (local.set $pb1 (i32.add (local.get $pb1) (local.get $b1)))
        (br_if $l1 (local.tee $i1 (i32.sub (local.get $i1) (i32.const 1)))))
      (local.set $pa0 (i32.add (local.get $pa0) (local.get $a0)))
      (local.set $pb0 (i32.add (local.get $pb0) (local.get $b0)))
      (br_if $l0 (local.tee $i0 (i32.sub (local.get $i0) (i32.const 1))))))

  (func $apply (param $op i32) (param $x v128) (param $y v128) (result v128)
    (v128.bitselect (local.get $x) (local.get $y)
      (v128.or (f32x4.ne (local.get $x) (local.get $x))
        (if (result v128) (local.get $op)
          (then (f32x4.lt (local.get $x) (local.get $y)))
          (else (f32x4.gt (local.get $x) (local.get $y)))))))

  ;; float32 x viewed as [a, b, c]: out[j] = sum over i < a, k < c of x[(i*b + j)*c + k]
  ;; (a bias gradient: NCHW summed over N, H and W). Each (i, j) run of c sums in four lanes.
  (func (export "sum_outer_inner") (param $x i32) (param $out i32) (param $a i32) (param $b i32) (param $c i32)
    (local $i i32) (local $j i32) (local $k i32) (local $p i32) (local $row i32) (local $c4 i32)
    (local $acc v128) (local $tail f32)
    (local.set $row (i32.shl (i32.mul (local.get $b) (local.get $c)) (i32.const 2)))
    (local.set $c4 (i32.and (local.get $c) (i32.const -4)))
    (block $j_done
      (loop $jl
        (br_if $j_done (i32.ge_u (local.get $j) (local.get $b)))
        (local.set $acc (v128.const f32x4 0 0 0 0))
        (local.set $tail (f32.const 0))
        (local.set $i (i32.const 0))
        (block $i_done
          (loop $il
            (br_if $i_done (i32.ge_u (local.get $i) (local.get $a)))
            (local.set $p (i32.add (local.get $x)
              (i32.add (i32.mul (local.get $i) (local.get $row)) (i32.shl (i32.mul (local.get $j) (local.get $c)) (i32.const 2)))))
            (local.set $k (i32.const 0))
            (block $v_done
              (loop $vl
                (br_if $v_done (i32.ge_u (local.get $k) (local.get $c4)))
                (local.set $acc (f32x4.add (local.get $acc) (v128.load (local.get $p))))
                (local.set $p (i32.add (local.get $p) (i32.const 16)))
                (local.set $k (i32.add (local.get $k) (i32.const 4)))
                (br $vl)))
            (block $t_done
              (loop $tl
                (br_if $t_done (i32.ge_u (local.get $k) (local.get $c)))
                (local.set $tail (f32.add (local.get $tail) (f32.load (local.get $p))))
                (local.set $p (i32.add (local.get $p) (i32.const 4)))
                (local.set $k (i32.add (local.get $k) (i32.const 1)))
                (br $tl)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $il)))
        (f32.store (i32.add (local.get $out) (i32.shl (local.get $j) (i32.const 2)))
          (f32.add
            (f32.add
              (f32.add (f32x4.extract_lane 0 (local.get $acc)) (f32x4.extract_lane 1 (local.get $acc)))
              (f32.add (f32x4.extract_lane 2 (local.get $acc)) (f32x4.extract_lane 3 (local.get $acc))))
            (local.get $tail)))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $jl))))

  ;; float32 x viewed as [a, b]: out[j] = sum over i < a of x[i*b + j] (a column sum), four columns
  ;; at a time. `out` is overwritten.
  (func (export "sum_rows") (param $x i32) (param $out i32) (param $a i32) (param $b i32)
    (local $i i32) (local $j i32) (local $b4 i32) (local $p i32) (local $q i32)
    (memory.fill (local.get $out) (i32.const 0) (i32.shl (local.get $b) (i32.const 2)))
    (local.set $b4 (i32.and (local.get $b) (i32.const -4)))
    (local.set $p (local.get $x))
    (block $i_done
      (loop $il
        (br_if $i_done (i32.ge_u (local.get $i) (local.get $a)))
        (local.set $q (local.get $out))
        (local.set $j (i32.const 0))
        (block $v_done
          (loop $vl
            (br_if $v_done (i32.ge_u (local.get $j) (local.get $b4)))
            (v128.store (local.get $q) (f32x4.add (v128.load (local.get $q)) (v128.load (local.get $p))))
            (local.set $p (i32.add (local.get $p) (i32.const 16)))
            (local.set $q (i32.add (local.get $q) (i32.const 16)))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $vl)))
        (block $t_done
          (loop $tl
            (br_if $t_done (i32.ge_u (local.get $j) (local.get $b)))
            (f32.store (local.get $q) (f32.add (f32.load (local.get $q)) (f32.load (local.get $p))))
            (local.set $p (i32.add (local.get $p) (i32.const 4)))
            (local.set $q (i32.add (local.get $q) (i32.const 4)))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $tl)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $il))))
)
