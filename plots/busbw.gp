# Bus bandwidth vs message size (nccl-tests' all_reduce_perf view), one line per system.
# Input: plots/busbw.dat with columns: system bytes busbw_GBps (written by make plots).
set terminal pngcairo size 900,560 font ",11"
set output "results/plots/busbw.png"
set title "All-reduce bus bandwidth vs message size (simulated, NCCL-tuner algorithm choice)"
set xlabel "message size per rank (bytes)"
set ylabel "bus bandwidth (GB/s)"
set logscale x 2
set format x "2^{%L}"
set key top left
set grid
plot for [s in SYSTEMS] "results/plots/busbw.dat" using (strcol(1) eq s ? $2 : 1/0):3 with linespoints title s
