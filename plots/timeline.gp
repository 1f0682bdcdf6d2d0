# Queue and batch over time: requests waiting and running per instance, one line per variant,
# from a serving run's timeline.csv (results/plots/timeline.dat: variant time_s waiting running).
set terminal pngcairo size 900,760 font ",11"
set output "results/plots/timeline.png"
set multiplot layout 2,1 title "Serving over time (Llama 3 70B, TP 8, 24 requests/s; a row per second)"
set grid
set key top left
set ylabel "requests waiting"
unset xlabel
plot for [s in SYSTEMS] "results/plots/timeline.dat" using (strcol(1) eq s ? $2 : 1/0):3 with lines linewidth 2 title s
set ylabel "requests running (batch)"
set xlabel "time (s)"
plot for [s in SYSTEMS] "results/plots/timeline.dat" using (strcol(1) eq s ? $2 : 1/0):4 with lines linewidth 2 title s
unset multiplot
