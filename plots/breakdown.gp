# Where a training step's time goes, per system (summary.csv of a training scenario).
# Input: results/plots/breakdown.dat with columns: variant kernels collectives rest (seconds):
# the busiest stage's kernel time, its exposed TP/CP/EP collectives, and the rest of the step
# (pipeline bubble, waits on data-parallel communication, the optimizer).
set terminal pngcairo size 900,560 font ",11" noenhanced
set output "results/plots/breakdown.png"
set title "Training step time by part (Llama 3 405B, 8,192 GPUs; clustersim run)"
set ylabel "seconds per step"
set style data histograms
set style histogram rowstacked
set style fill solid 0.6 border -1
set boxwidth 0.6
set grid ytics
set yrange [0:*]
set key inside top right
plot "results/plots/breakdown.dat" using 2:xtic(1) title "kernels", \
     "" using 3 title "exposed TP collectives", \
     "" using 4 title "bubble, DP waits, optimizer"
