# Speedups over the baseline with 95% confidence whiskers (comparison.csv).
# Input: results/plots/speedup.dat with columns: index label speedup ci_low ci_high.
set terminal pngcairo size 900,560 font ",11" noenhanced
set output "results/plots/speedup.png"
set title "Speedup over the baseline, with 95% intervals (clustersim compare)"
set ylabel "speedup (×, > 1 is better)"
set style fill solid 0.4
set boxwidth 0.6
set grid ytics
set xtics rotate by -30
set yrange [0:*]
plot "results/plots/speedup.dat" using 1:3:xtic(2) with boxes notitle, \
     "" using 1:3:4:5 with yerrorbars lc rgb "black" pt 0 notitle
