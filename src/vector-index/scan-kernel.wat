;; The inner loop of the exact vector scan (exact-search.ts), as WebAssembly SIMD: four rows per
;; step, four query dimensions per pass over the rows.
;;
;; Memory (imported, one per index): int16 columns, one per dimension, each `rows` values long
;; (a multiple of 4), then one float32 sum per row.
;;
;;   sums[i] += w0 * c0[i] + w1 * c1[i] + w2 * c2[i] + w3 * c3[i]    for i < rows
;;
;; c0..c3 and sums are byte offsets. The bytes in scan-kernel.ts are this file assembled by wabt
;; (wat2wasm); test/scan-kernel.test.ts assembles it again and fails, printing the new bytes, when
;; the two differ.
(module
  (memory (import "env" "memory") 1)
  (func (export "accumulate4")
    (param $sums i32) (param $c0 i32) (param $c1 i32) (param $c2 i32) (param $c3 i32) (param $rows i32)
    (param $w0 f32) (param $w1 f32) (param $w2 f32) (param $w3 f32)
    (local $at i32) (local $end i32)
    (local $v0 v128) (local $v1 v128) (local $v2 v128) (local $v3 v128)
    (local.set $v0 (f32x4.splat (local.get $w0)))
    (local.set $v1 (f32x4.splat (local.get $w1)))
    (local.set $v2 (f32x4.splat (local.get $w2)))
    (local.set $v3 (f32x4.splat (local.get $w3)))
    ;; $at walks the columns in bytes (2 per row); $sums walks the sums (4 bytes per row).
    (local.set $end (i32.shl (local.get $rows) (i32.const 1)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $at) (local.get $end)))
        (v128.store (local.get $sums)
          (f32x4.add
            (f32x4.add
              (v128.load (local.get $sums))
              (f32x4.add
                (f32x4.mul (local.get $v0) (f32x4.convert_i32x4_s (v128.load16x4_s (i32.add (local.get $c0) (local.get $at)))))
                (f32x4.mul (local.get $v1) (f32x4.convert_i32x4_s (v128.load16x4_s (i32.add (local.get $c1) (local.get $at)))))))
            (f32x4.add
              (f32x4.mul (local.get $v2) (f32x4.convert_i32x4_s (v128.load16x4_s (i32.add (local.get $c2) (local.get $at)))))
              (f32x4.mul (local.get $v3) (f32x4.convert_i32x4_s (v128.load16x4_s (i32.add (local.get $c3) (local.get $at))))))))
        (local.set $sums (i32.add (local.get $sums) (i32.const 16)))
        (local.set $at (i32.add (local.get $at) (i32.const 8)))
        (br $next))))
)
